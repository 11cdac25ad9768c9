/** Zod building blocks shared by the config schema files. */
import { z } from "zod";
import { envValueProblem } from "../chatwoot/env-file";
import { isHostname } from "./validate";

/** A DNS name such as chat.example.com. */
export const hostname = (what: string) => z.string().refine(isHostname, { message: `must be a ${what} such as chat.example.com` });

/** A string that ends up in the env file. */
export const envSafe = (base: z.ZodString) =>
  base.superRefine((v, ctx) => {
    const problem = envValueProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
