package io.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.benchmarks.engine.KvOffloadBenchmark;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera bench kv-offload}: the options of {@link KvOffloadBenchmark}. */
@Command(name = "kv-offload", mixinStandardHelpOptions = true,
        description = "Time to first token with a long shared prefix: computed cold, found in the KV pool, restored "
                + "from the memory tier, restored from the disk tier, fetched from a peer replica over the KV transfer "
                + "path (loopback); alternating rounds, medians and spread.")
final class BenchKvOffloadCommand implements Callable<Integer> {

    @Mixin
    BenchModelOptions run;

    @Option(names = "--prefix-len", defaultValue = "2048", paramLabel = "N",
            description = "Tokens of the shared prefix (default: ${DEFAULT-VALUE}).")
    int prefixLen;

    @Option(names = "--suffix-len", defaultValue = "16", paramLabel = "N",
            description = "Tokens after the prefix, fresh in every prompt (default: ${DEFAULT-VALUE}).")
    int suffixLen;

    @Option(names = "--rounds", defaultValue = "5", paramLabel = "N",
            description = "Timed rounds, after one untimed warm-up round (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--kv-cache-dtype", defaultValue = "f16", paramLabel = "TYPE",
            description = "KV cache precision: " + KvCacheType.CHOICES + " (default: ${DEFAULT-VALUE}).")
    String kvCacheDtype;

    @Option(names = "--block-size", defaultValue = "16", paramLabel = "N",
            description = "Tokens per KV block (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--kv-offload-dir", paramLabel = "DIR",
            description = "Directory of the disk tier (default: a temporary directory, removed at the end).")
    Path dir;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Prompt seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object on standard output (the report goes to stderr).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        KvOffloadBenchmark bench = new KvOffloadBenchmark(new KvOffloadBenchmark.Config(prefixLen, suffixLen, rounds,
                KvCacheType.parse(kvCacheDtype), blockSize, dir, seed));
        run.kernels.apply();
        PrintStream report = json ? System.err : System.out;
        try (Model m = ModelLoader.load(run.model); Parallel parallel = new Parallel(run.threads())) {
            Map<String, Object> out = bench.run(m, parallel, report);
            KvOffloadBenchmark.print(report, out);
            if (json) {
                System.out.println(new ObjectMapper().writeValueAsString(out));
            }
        }
        return 0;
    }
}
