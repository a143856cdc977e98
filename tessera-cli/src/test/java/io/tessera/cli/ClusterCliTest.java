package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cluster options as a user runs them: local workers started by the command, a cluster file, a bad layout. */
class ClusterCliTest {

    @TempDir
    Path dir;

    @Test
    void benchThroughputOverTwoLocalWorkers() {
        CliTest.Result r = CliTest.tessera("bench", "throughput", "--model", TestModels.stories260K().toString(),
                "--num-prompts", "4", "--input-len", "8", "--output-len", "8", "--kv-cache-memory", "8M", "--tp", "2",
                "--worker-heap", "160m", "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"layout\":\"tp 2 x pp 1\""), r.out());
        assertTrue(r.out().contains("\"collective_bytes_per_token_theory\""), r.out());
    }

    @Test
    void clusterFileWithAnImpossibleSplitIsAOneLineError() throws Exception {
        Path f = dir.resolve("cluster.json");
        Files.writeString(f, "{\"tp\": 3, \"pp\": 1}");
        CliTest.Result r = CliTest.tessera("bench", "throughput", "--model", TestModels.stories260K().toString(),
                "--num-prompts", "1", "--kv-cache-memory", "8M", "--cluster-file", f.toString());
        assertTrue(r.code() != 0, r.out());
        assertTrue(r.err().contains("tensor parallelism 3 does not divide the 8 attention heads"), r.err());
    }
}
