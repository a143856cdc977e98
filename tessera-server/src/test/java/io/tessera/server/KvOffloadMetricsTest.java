package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.engine.Detokenizer;
import io.tessera.engine.Engine;
import io.tessera.engine.EngineConfig;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.kv.KvOffloadConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The offload tiers' hits, misses and bytes in {@code /metrics}, after a prefix came back from disk over HTTP. */
class KvOffloadMetricsTest {

    @Test
    @Timeout(120)
    void metricsCountEachTiersHitsMissesAndBytes(@TempDir Path dir) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        try (LoadedModel loaded = LoadedModel.open(TestModels.stories260K(), TestModels.tok512());
                Parallel parallel = new Parallel(1)) {
            LocalExecutor probe = new LocalExecutor(loaded.model(), parallel, KvCacheType.F32, 16, 1);
            long blockBytes = probe.cache().blockContentBytes();
            probe.close();
            // a pool of 12 blocks; memory for 2 blocks, so a 4-block prefix spills half of itself to disk
            try (LocalExecutor executor = new LocalExecutor(loaded.model(), parallel, KvCacheType.F32, 16, 12,
                    new KvOffloadConfig(2 * blockBytes, dir, 1L << 30));
                    Engine engine = new Engine(executor, EngineConfig.defaults(), Detokenizer.of(loaded.tokenizer()));
                    TesseraServer server = new TesseraServer(engine, ServedModel.of("stories260K", loaded.tokenizer(),
                            512, loaded.chatTemplate()), ServerConfig.defaults()).start()) {
                Random rnd = new Random(3);
                int[] prompt = tokens(rnd, 72);
                complete(http, server, prompt);
                complete(http, server, tokens(rnd, 180)); // takes the whole pool: the prefix is evicted
                complete(http, server, prompt);
                String m = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                double memoryHits = value(m, "tessera_kv_offload_hits_total", "memory");
                double diskHits = value(m, "tessera_kv_offload_hits_total", "disk");
                assertEquals(4, memoryHits + diskHits, m);
                assertTrue(memoryHits > 0 && diskHits > 0, m);
                assertTrue(value(m, "tessera_kv_offload_misses_total", "memory") > 0, m);
                assertEquals(2 * blockBytes, value(m, "tessera_kv_offload_capacity_bytes", "memory"), m);
                assertEquals(memoryHits * blockBytes, value(m, "tessera_kv_offload_read_bytes_total", "memory"), m);
                assertTrue(value(m, "tessera_kv_offload_written_bytes_total", "disk") > 0, m);
                assertTrue(value(m, "tessera_kv_offload_stored_bytes", "disk") > 0, m);
                assertEquals(0, value(m, "tessera_kv_offload_corrupt_total", "disk"), m);
                double rate = value(m, "tessera_kv_offload_hit_rate", "disk");
                assertTrue(rate > 0 && rate <= 1, m);
            }
        }
    }

    private static int[] tokens(Random rnd, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 3 + rnd.nextInt(500);
        }
        return t;
    }

    private static void complete(HttpClient http, TesseraServer server, int[] prompt) throws Exception {
        StringJoiner ids = new StringJoiner(",", "[", "]");
        for (int t : prompt) {
            ids.add(Integer.toString(t));
        }
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/completions"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":" + ids + ",\"max_tokens\":4,\"ignore_eos\":true}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
    }

    private static double value(String metrics, String name, String tier) {
        Matcher m = Pattern.compile("(?m)^" + name + "\\{[^}]*tier=\"" + tier + "\"[^}]*\\} (\\S+)$").matcher(metrics);
        assertTrue(m.find(), name + "{tier=\"" + tier + "\"} in\n" + metrics);
        return Double.parseDouble(m.group(1));
    }
}
