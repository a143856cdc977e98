package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The KV offload flags as a user gives them, and the kv-offload benchmark end to end. */
class KvOffloadCliTest {

    @TempDir
    Path dir;

    @Test
    void inconsistentOffloadFlagsAreRefusedNamingTheFlag() {
        String model = TestModels.stories260K().toString();
        CliTest.Result r = CliTest.tessera("bench", "throughput", "--model", model, "--num-prompts", "1",
                "--kv-cache-memory", "8M", "--kv-offload-dir", dir.toString());
        assertTrue(r.code() != 0 && r.err().contains("--kv-offload-dir needs --kv-offload-disk"), r.err());
        r = CliTest.tessera("bench", "throughput", "--model", model, "--num-prompts", "1", "--kv-cache-memory", "8M",
                "--kv-offload-disk", "1G");
        assertTrue(r.code() != 0 && r.err().contains("--kv-offload-disk needs --kv-offload-dir"), r.err());
        r = CliTest.tessera("bench", "throughput", "--model", model, "--num-prompts", "1", "--kv-cache-memory", "8M",
                "--kv-offload-memory", "lots");
        assertTrue(r.code() != 0 && r.err().contains("--kv-offload-memory"), r.err());
        r = CliTest.tessera("bench", "throughput", "--model", model, "--num-prompts", "1", "--kv-cache-memory", "8M",
                "--kv-offload-memory", "64M", "--no-prefix-caching");
        assertTrue(r.code() != 0 && r.err().contains("--no-prefix-caching"), r.err());
        r = CliTest.tessera("bench", "throughput", "--model", model, "--num-prompts", "1", "--kv-cache-memory", "8M",
                "--kv-offload-memory", "64M", "--tp", "2");
        assertTrue(r.code() != 0 && r.err().contains("local executor only"), r.err());
    }

    @Test
    void benchThroughputReportsTheTiers() throws Exception {
        Path tier = dir.resolve("tier3");
        CliTest.Result r = CliTest.tessera("bench", "throughput", "--model", TestModels.stories260K().toString(),
                "--num-prompts", "6", "--prefix-len", "64", "--input-len", "8", "--output-len", "4", "--threads", "1",
                "--kv-cache-memory", "256K", "--kv-offload-memory", "128K", "--kv-offload-dir", tier.toString(),
                "--kv-offload-disk", "16M", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        JsonNode tiers = o.get("kv_offload_tiers");
        assertEquals("memory", tiers.get(0).get("tier").asText(), r.out());
        assertEquals("disk", tiers.get(1).get("tier").asText(), r.out());
        assertTrue(r.err().contains("KV offload memory:"), r.err());
        try (var files = Files.list(tier)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().contains(".kvblock")), "block files removed at exit");
        }
    }

    @Test
    void kvOffloadBenchRestoresThePrefixFromEachTier() throws Exception {
        CliTest.Result r = CliTest.tessera("bench", "kv-offload", "--model", TestModels.stories260K().toString(),
                "--prefix-len", "64", "--rounds", "1", "--threads", "1", "--kv-offload-dir", dir.resolve("d").toString(),
                "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        // the peer case checks that the whole prefix was fetched from the other replica, or fails
        for (String c : new String[] {"cold", "pool", "memory", "disk", "peer"}) {
            assertEquals(1, o.get(c).get("ttft_ms").size(), r.out());
            assertTrue(o.get(c).get("ttft_median_ms").asDouble() > 0, r.out());
        }
    }
}
