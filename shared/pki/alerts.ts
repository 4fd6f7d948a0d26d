// The alert shape rotation sends: a notice on every rotation, an alert on a failure or a close expiry.

export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface AlertMessage {
  subject: string;
  message: string;
  severity: AlertSeverity;
}

/** Sends one alert; the same shape as `Alerter.send` in shared/alerts, so either can be passed. */
export type SendAlert = (alert: AlertMessage) => Promise<void>;
