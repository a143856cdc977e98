package io.tessera.benchmarks.serve;

/**
 * What to send: a text prompt (chat or completions) or token ids (completions only).
 *
 * @param inputLen prompt tokens when known (token ids, random words), else 0 (the server's usage tells)
 * @param mixClass index of the workload-mix entry it was drawn from, -1 for a dataset prompt
 */
public record ServePrompt(String text, int[] tokenIds, int inputLen, int outputLen, int mixClass) {
}
