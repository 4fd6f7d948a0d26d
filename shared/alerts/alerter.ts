// The alert interface every stage uses to page on-call: SNS in deployment, the console locally.

import { FleetLoginError } from '../errors.ts';

/** Urgency of an alert: `critical` pages on-call at once, `warning` and `info` can wait for office hours. */
export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface Alert {
  /** One line, for email subjects and chat titles. Implementations shorten it where the channel requires. */
  subject: string;
  /** Plain text body, several lines. */
  message: string;
  severity: AlertSeverity;
}

export interface Alerter {
  /** Sends the alert. Throws AlertError when it could not be handed to the channel, so the caller can retry. */
  send(alert: Alert): Promise<void>;
}

/** An alert could not be sent. The message names the channel, such as the SNS topic ARN. */
export class AlertError extends FleetLoginError {}
