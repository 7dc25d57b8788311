export function withoutMachinePaths(text: string): string;
export function describeIndex(url: string, distributions?: number): string;
export function matrixFailure(output: string): string;
