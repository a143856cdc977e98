package io.tessera.cli;

import static io.tessera.cli.CliTest.tessera;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tessera quantize} end to end on stories260K: SmoothQuant W8A8 written, then scored by eval. */
class QuantizeCommandTest {

    private static String text(String name) {
        return TestModels.repoRoot().resolve("tessera-bench/eval/" + name).toString();
    }

    @Test
    void smoothQuantDirectoryIsScoredCloseToTheF32Model(@TempDir Path dir) throws Exception {
        String model = TestModels.stories260K().toString();
        String tok = TestModels.tok512().toString();
        Path out = dir.resolve("sq");
        CliTest.Result q = tessera("quantize", model, "--tokenizer", tok, "--method", "smoothquant", "--alpha", "0.5",
                "--calibration", text("calibration-stories.txt"), "--calibration-ctx", "128",
                "--outlier-threshold", "6", "-o", out.toString());
        assertEquals(0, q.code(), q.err());
        assertTrue(q.err().contains("W8A8, SmoothQuant alpha 0.5") && q.err().contains("calibration tokens"), q.err());
        JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("int-quantized", config.at("/quantization_config/format").asText());
        assertEquals(6.0, config.at("/quantization_config/tessera_outlier_threshold").asDouble());
        assertTrue(Files.exists(out.resolve("generation_config.json")));
        CliTest.Result r = tessera("eval", "perplexity", "--model", out.toString(), "--tokenizer", tok,
                "--text", text("tinystories-style.txt"), "--ctx", "128", "--kl-base", model, "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode kl = new ObjectMapper().readTree(r.out()).get("kl");
        assertTrue(kl.get("mean").asDouble() > 0 && kl.get("mean").asDouble() < 0.02, "KL mean " + kl);
        assertTrue(kl.get("same_top_rate").asDouble() > 0.9, "same top token " + kl);
    }

    @Test
    void badInputIsOneLineNamingTheOption(@TempDir Path dir) {
        String model = TestModels.stories260K().toString();
        String tok = TestModels.tok512().toString();
        String out = dir.resolve("o").toString();
        CliTest.Result method = tessera("quantize", model, "--tokenizer", tok, "--method", "gptq", "-o", out);
        assertEquals(1, method.code());
        assertTrue(method.err().strip().startsWith("tessera quantize: --method 'gptq' is not supported"), method.err());
        CliTest.Result noText = tessera("quantize", model, "--tokenizer", tok, "-o", out);
        assertTrue(noText.err().contains("--method smoothquant needs --calibration TEXT"), noText.err());
        CliTest.Result missing = tessera("quantize", model, "--tokenizer", tok, "--calibration", "no-such.txt", "-o", out);
        assertTrue(missing.err().contains("cannot read --calibration no-such.txt: no such file"), missing.err());
        CliTest.Result alpha = tessera("quantize", model, "--tokenizer", tok, "--alpha", "2",
                "--calibration", text("calibration-stories.txt"), "-o", out);
        assertTrue(alpha.err().contains("--alpha must lie in [0, 1]"), alpha.err());
        CliTest.Result rtnText = tessera("quantize", model, "--tokenizer", tok, "--method", "rtn",
                "--calibration", text("calibration-stories.txt"), "-o", out);
        assertTrue(rtnText.err().contains("--calibration is used by --method smoothquant only"), rtnText.err());
        CliTest.Result ctx = tessera("quantize", model, "--tokenizer", tok, "--calibration-ctx", "4096",
                "--calibration", text("calibration-stories.txt"), "-o", out);
        assertTrue(ctx.err().contains("calibration window of 4096 tokens"), ctx.err());
    }
}
