// The CPU and memory combinations Fargate accepts for Linux tasks (platform version 1.4.0):
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let v = from; v <= to; v += step) values.push(v);
  return values;
}

/** Valid memory sizes (MiB) for each Fargate CPU size (CPU units). */
export const FARGATE_MEMORY_BY_CPU: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

/** Throws unless `cpu` and `memoryLimitMiB` are a pair Fargate accepts. */
export function validateFargateSize(cpu: number, memoryLimitMiB: number): void {
  const memories = FARGATE_MEMORY_BY_CPU[cpu];
  if (!memories) {
    throw new Error(`service.cpu must be one of the Fargate CPU sizes ${Object.keys(FARGATE_MEMORY_BY_CPU).join(', ')} (CPU units, 1024 = 1 vCPU), got ${cpu}.`);
  }
  if (!memories.includes(memoryLimitMiB)) {
    throw new Error(`service.memoryLimitMiB ${memoryLimitMiB} is not valid with cpu ${cpu}; Fargate accepts these memory sizes (MiB) for that CPU: ${memories.join(', ')}.`);
  }
}
