// Test support: kubectl pando's run() as a user runs it, its output captured, no stdin.
import { run } from '../../cli/main';

export async function runPlugin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t), readStdin: () => '', env: {} };
  const code = await run(args, io);
  return { code, stdout, stderr };
}
