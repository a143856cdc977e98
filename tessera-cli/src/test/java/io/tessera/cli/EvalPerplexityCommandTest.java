package io.tessera.cli;

import static io.tessera.cli.CliTest.tessera;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import org.junit.jupiter.api.Test;

/** {@code tessera eval perplexity} end to end on stories260K. */
class EvalPerplexityCommandTest {

    private static String text() {
        return TestModels.repoRoot().resolve("tessera-bench/eval/tinystories-style.txt").toString();
    }

    @Test
    void jsonReportsPerplexityAndNoDivergenceFromItself() throws Exception {
        String model = TestModels.stories260K().toString();
        CliTest.Result r = tessera("eval", "perplexity", "--model", model, "--tokenizer", TestModels.tok512().toString(),
                "--text", text(), "--ctx", "128", "--kl-base", model, "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertEquals(128, o.get("ctx").asInt());
        assertEquals(128, o.get("stride").asInt());
        assertEquals(o.get("windows").asInt() * 63, o.get("scored_tokens").asInt(), "ctx - 1 - ctx/2 per window");
        double ppl = o.get("perplexity").asDouble();
        assertTrue(ppl > 1 && ppl < 20, "a trained model's perplexity on its own kind of text: " + ppl);
        assertEquals(Math.exp(o.get("mean_nll").asDouble()), ppl, 1e-9 * ppl);
        assertEquals(0.0, o.get("kl").get("max").asDouble(), 0.0);
        assertEquals(1.0, o.get("kl").get("same_top_rate").asDouble(), 0.0);
        assertTrue(r.err().contains("windows " + o.get("windows").asInt() + "/" + o.get("windows").asInt()),
                "progress on stderr: " + r.err());
    }

    /**
     * --quantize FP8 scores the F32 file's weights rounded to E4M3: a small divergence from the F32
     * file, not none, and the same verdict on most tokens.
     */
    @Test
    void fp8QuantizedAtLoadDivergesLittleFromF32(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        String f32 = dir.resolve("stories260K-F32.gguf").toString();
        CliTest.Result convert = tessera("convert", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--type", "F32", "-o", f32);
        assertEquals(0, convert.code(), convert.err());
        CliTest.Result r = tessera("eval", "perplexity", "--model", f32, "--quantize", "FP8", "--text", text(),
                "--ctx", "128", "--kl-base", f32, "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("quantizing the weights to FP8"), r.err());
        JsonNode kl = new ObjectMapper().readTree(r.out()).get("kl");
        assertTrue(kl.get("mean").asDouble() > 0 && kl.get("mean").asDouble() < 0.05, "KL mean " + kl);
        assertTrue(kl.get("same_top_rate").asDouble() > 0.9, "same top token " + kl);
    }

    @Test
    void badInputIsOneLineNamingTheCommandAndTheOption() {
        String model = TestModels.stories260K().toString();
        String tok = TestModels.tok512().toString();
        CliTest.Result kv = tessera("eval", "perplexity", model, "--tokenizer", tok, "--text", text(),
                "--kv-cache-dtype", "int3");
        assertEquals(1, kv.code());
        assertTrue(kv.err().strip().startsWith("tessera eval perplexity: unknown KV cache type 'int3'"), kv.err());
        CliTest.Result missing = tessera("eval", "perplexity", model, "--tokenizer", tok, "--text", "no-such.txt");
        assertTrue(missing.err().contains("tessera eval perplexity: cannot read --text no-such.txt: no such file"),
                missing.err());
        CliTest.Result ctx = tessera("eval", "perplexity", model, "--tokenizer", tok, "--text", text(), "--ctx",
                "1024");
        assertTrue(ctx.err().contains("exceeds the model's context length 512"), ctx.err());
        CliTest.Result stride = tessera("eval", "perplexity", model, "--tokenizer", tok, "--text", text(),
                "--ctx", "64", "--stride", "65");
        assertTrue(stride.err().contains("--stride"), stride.err());
    }
}
