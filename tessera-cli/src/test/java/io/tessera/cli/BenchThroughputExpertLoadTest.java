package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tessera bench throughput --expert-load-out} on a mixture-of-experts model: the JSON's
 * {@code expert_load} counts, per layer, each token the timed run put through the model once per
 * chosen expert, and the file holds the same counts for {@code --ep-load}.
 */
class BenchThroughputExpertLoadTest {

    @TempDir
    Path dir;

    @Test
    void expertLoadCountsEveryTokenOncePerChosenExpert() throws Exception {
        Path model = dir.resolve("tiny-moe.gguf");
        CliTest.Result synth = CliTest.tessera("synth", "--shape", "tiny-moe", "-o", model.toString());
        assertEquals(0, synth.code(), synth.err());
        Path loadFile = dir.resolve("load.json");
        int prompts = 4;
        int in = 8;
        int out = 8;
        CliTest.Result r = CliTest.tessera("bench", "throughput", "--model", model.toString(), "--threads", "1",
                "--num-prompts", String.valueOf(prompts), "--input-len", String.valueOf(in), "--output-len",
                String.valueOf(out), "--expert-load-out", loadFile.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        ModelConfig cfg;
        try (Model m = ModelLoader.load(model)) {
            cfg = m.config();
        }
        // each request's prompt and every output token but the last pass through the model
        long tokens = (long) prompts * (in + out - 1);
        JsonNode load = new ObjectMapper().readTree(r.out()).get("expert_load");
        assertEquals(cfg.layers() - cfg.moe().leadingDenseLayers(), load.size(), r.out());
        for (JsonNode layer : load) {
            assertEquals(cfg.moe().experts(), layer.size());
            long sum = 0;
            for (JsonNode count : layer) {
                assertTrue(count.asLong() >= 0);
                sum += count.asLong();
            }
            assertEquals(tokens * cfg.moe().expertsUsed(), sum, layer.toString());
        }
        assertEquals(load, new ObjectMapper().readTree(Files.readString(loadFile)).get("expert_load"));
    }
}
