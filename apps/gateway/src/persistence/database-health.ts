import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** The readiness probe's question to PostgreSQL (`SELECT 1`), so that no controller holds the DataSource. */
@Injectable()
export class DatabaseHealth {
  constructor(private readonly dataSource: DataSource) {}

  /** Resolves once PostgreSQL answered; rejects with the driver's error otherwise. */
  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }
}
