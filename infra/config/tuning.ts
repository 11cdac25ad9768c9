/** chatwoot:tuning: what the host computes for Rails, Sidekiq and PostgreSQL, overridden. */
import { z } from "zod";

/** Overrides of what scripts/tuning.sh computes from the server's vCPUs and memory. */
export const tuningSchema = z
  .object(
    {
      webConcurrency: z.number().int().min(0).max(64, { message: "must be 0 (Puma's single mode) to 64" }).optional(),
      railsMaxThreads: z.number().int().min(1).max(32, { message: "must be 1 to 32" }).optional(),
      sidekiqConcurrency: z.number().int().min(1).max(50, { message: "must be 1 to 50" }).optional(),
      postgres: z
        .object({
          sharedBuffersMb: z.number().int().min(32).max(262144, { message: "must be 32 to 262144 (MB)" }).optional(),
          effectiveCacheSizeMb: z.number().int().min(64).max(1048576, { message: "must be 64 to 1048576 (MB)" }).optional(),
          /** PostgreSQL's random_page_cost (computed: 1.1, for SSD-backed volumes). */
          randomPageCost: z.number({ message: "must be a number from 0.1 to 100" }).min(0.1, { message: "must be a number from 0.1 to 100" }).max(100, { message: "must be a number from 0.1 to 100" }).optional(),
          workMemMb: z.number().int().min(1).max(2048, { message: "must be 1 to 2048 (MB)" }).optional(),
          maintenanceWorkMemMb: z.number().int().min(16).max(8192, { message: "must be 16 to 8192 (MB)" }).optional(),
          maxConnections: z.number().int().min(20).max(5000, { message: "must be 20 to 5000" }).optional(),
        })
        .strict()
        .default({}),
      memoryLimitsMb: z
        .object(
          Object.fromEntries(
            (["rails", "sidekiq", "postgres", "redis"] as const).map((k) => [k, z.number().int().min(256).max(1048576, { message: "must be 256 to 1048576 (MB)" }).optional()]),
          ) as Record<"rails" | "sidekiq" | "postgres" | "redis", z.ZodOptional<z.ZodNumber>>,
        )
        .strict()
        .default({}),
    },
    { message: 'must be an object like {"webConcurrency": 2, "postgres": {"sharedBuffersMb": 1024}}' },
  )
  .strict()
  .default({ postgres: {}, memoryLimitsMb: {} });
