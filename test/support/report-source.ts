import type { ExecutionClient, ExecutionReport, ExecutionReportListener } from '@gateway/brokers';

/** Only what the execution report processor uses of a broker: the report stream, driven by the spec. */
export class ReportSource implements Pick<ExecutionClient, 'onExecutionReport'> {
  private listener: ExecutionReportListener = () => undefined;
  onExecutionReport(listener: ExecutionReportListener): () => void {
    this.listener = listener;
    return () => undefined;
  }
  emit(report: ExecutionReport): void {
    this.listener(report);
  }
}
