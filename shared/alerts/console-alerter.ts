// Alerts printed to a stream, for `npm start` and other local runs where no SNS topic exists.

import type { Alert, Alerter } from './alerter.ts';

/** Writes each alert as a block of text: severity and subject, then the message. */
export class ConsoleAlerter implements Alerter {
  constructor(private readonly write: (text: string) => void = (text) => process.stdout.write(text)) {}

  async send(alert: Alert): Promise<void> {
    this.write(`ALERT [${alert.severity}] ${alert.subject}\n${alert.message}\n\n`);
  }
}
