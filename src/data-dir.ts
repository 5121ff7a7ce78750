import { chmod, mkdir } from "node:fs/promises";

/**
 * Makes DATA_DIR (the embedded database: residents' personal and billing data, and the demo keys)
 * readable by its owner only, whether it is new or was made looser before.
 */
export async function preparePrivateDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}
