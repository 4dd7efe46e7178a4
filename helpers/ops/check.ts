/** One line of doctor's and the run's preflight report. */
export interface Check {
  name: string;
  ok: boolean;
  /** A warning: the run can go on, some tests will be weaker. */
  warn?: boolean;
  detail: string;
  hint?: string;
}
