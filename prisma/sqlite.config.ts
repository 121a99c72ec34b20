// Prisma CLI config for the SQLite schema. `engine: 'js'` runs the WebAssembly schema
// engine through the driver adapter, which works offline (no native engine to download).
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { defineConfig } from 'prisma/config';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'sqlite/schema.prisma',
  adapter: async () => new PrismaBetterSQLite3({ url: process.env.DATABASE_URL ?? 'file:./data/earshot.db' }),
});
