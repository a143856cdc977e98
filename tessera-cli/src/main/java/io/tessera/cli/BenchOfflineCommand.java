package io.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.benchmarks.engine.OfflineBenchmark;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera bench offline}: the options of {@link OfflineBenchmark}; progress lines on standard error. */
@Command(name = "offline", mixinStandardHelpOptions = true,
        description = "Prefill and decode tokens/s, load time and peak memory of a model file.")
final class BenchOfflineCommand implements Callable<Integer> {

    @Mixin
    BenchModelOptions run;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "Tokenizer, for llama2.c checkpoints only.")
    Path tokenizer;

    @Option(names = "--input-len", paramLabel = "N", defaultValue = "128",
            description = "Prompt length for the prefill measurement (default: ${DEFAULT-VALUE}).")
    int inputLen;

    @Option(names = "--output-len", paramLabel = "N", defaultValue = "128",
            description = "Tokens generated per sequence in the decode measurements (default: ${DEFAULT-VALUE}).")
    int outputLen;

    // the names before --input-len/--output-len (the other bench commands' names); kept for old scripts
    @Option(names = "--prompt-tokens", hidden = true, paramLabel = "N", description = "Old name of --input-len.")
    Integer promptTokensAlias;

    @Option(names = "--gen-tokens", hidden = true, paramLabel = "N", description = "Old name of --output-len.")
    Integer genTokensAlias;

    @Option(names = "--batch", paramLabel = "B[,B...]", split = ",", defaultValue = "1,8,32",
            description = "Decode batch sizes (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "2",
            description = "Timed runs of each measurement; the best is reported (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--kv-cache-dtype", paramLabel = "TYPE", defaultValue = "f16",
            description = "KV cache precision: " + KvCacheType.CHOICES + " (default: ${DEFAULT-VALUE}, as the engine).")
    String kvCacheDtype;

    @Option(names = "--json", description = "Print one JSON object on standard output instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        OfflineBenchmark bench = new OfflineBenchmark(promptTokensAlias != null ? promptTokensAlias : inputLen,
                genTokensAlias != null ? genTokensAlias : outputLen, batches, repeat, KvCacheType.parse(kvCacheDtype));
        int threads = run.threads();
        run.kernels.apply();
        long loadStart = System.nanoTime();
        try (LoadedModel loaded = LoadedModel.open(run.model, tokenizer); Parallel parallel = new Parallel(threads)) {
            progress("loaded %s in %.1f s; warming up", run.model.getFileName(), (System.nanoTime() - loadStart) / 1e9);
            OfflineBenchmark.Result r = bench.run(loaded.model(), parallel, line -> progress("%s", line));
            Map<String, Object> o = bench.summarize(r, run.model, loaded.model().config(), threads,
                    loaded.loadNanos() / 1e9);
            if (json) {
                System.out.println(new ObjectMapper().writeValueAsString(o));
            } else {
                OfflineBenchmark.print(System.out, o);
            }
        }
        return 0;
    }

    /**
     * One line on standard error per finished step, so that a run of minutes is not silent; the
     * result itself goes to standard output.
     */
    private static void progress(String format, Object... args) {
        System.err.println("tessera bench offline: " + String.format(Locale.ROOT, format, args));
    }
}
