package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import org.junit.jupiter.api.Test;

/** {@code tessera bench offline} on the small real model: one JSON object with the documented fields. */
class BenchOfflineCommandTest {

    @Test
    void jsonHasTheDocumentedFields() throws Exception {
        CliTest.Result r = CliTest.tessera("bench", "offline", "--model", TestModels.stories260K().toString(),
                "--tokenizer", TestModels.tok512().toString(), "--input-len", "16", "--output-len", "8",
                "--batch", "1,3", "--threads", "2", "--repeat", "1", "--kernels", "java", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertTrue(o.get("prefill_tokens_per_s").asDouble() > 0, r.out());
        assertTrue(o.get("decode_tokens_per_s").asDouble() > 0, r.out());
        assertTrue(o.get("decode_tokens_per_s_by_batch").get("3").asDouble() > 0, r.out());
        assertTrue(o.get("peak_rss_bytes").asLong() > 0, r.out());
        assertEquals(2, o.get("threads").asInt());
        assertEquals(16, o.get("prompt_tokens").asInt());
        assertEquals(8, o.get("gen_tokens").asInt());
        // progress on standard error, one line per step
        assertTrue(r.err().contains("tessera bench offline: loaded stories260K.bin in "), r.err());
        assertTrue(r.err().contains("tessera bench offline: prefill of 16 tokens, run 1 of 1: "), r.err());
        assertTrue(r.err().contains("tessera bench offline: decode at batch 3, run 1 of 1: "), r.err());
        assertEquals("java", o.get("kernels").asText());
        // stories260K: 5 layers of 64×64 (Q, O), 64×32 (K, V) and 3 × 64×172 (feed-forward); vocabulary 512
        assertEquals(2.0 * 5 * (2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 172), o.get("layer_flop_per_token").asDouble());
        assertEquals(2.0 * 512 * 64, o.get("head_flop_per_token").asDouble());
        double prefill = o.get("prefill_tokens_per_s").asDouble() * (453120 + 65536 / 16.0) / 1e9;
        assertEquals(prefill, o.get("prefill_gflop_per_s").asDouble(), prefill * 1e-9, r.out());
        assertTrue(o.get("decode_gflop_per_s_by_batch").get("3").asDouble() > 0, r.out());
    }

    @Test
    void theOldLengthNamesStillWorkButAreNotAdvertised() {
        CliTest.Result r = CliTest.tessera("bench", "offline", "--model", TestModels.stories260K().toString(),
                "--tokenizer", TestModels.tok512().toString(), "--prompt-tokens", "0");
        assertEquals(1, r.code());
        assertEquals("tessera bench offline: --input-len, --output-len, --repeat and --batch must be positive",
                r.err().strip());
        CliTest.Result help = CliTest.tessera("bench", "offline", "--help");
        assertTrue(help.out().contains("--input-len") && help.out().contains("--output-len"), help.out());
        assertFalse(help.out().contains("--prompt-tokens") || help.out().contains("--gen-tokens"), help.out());
    }

    @Test
    void badOptionsGetAClearError() {
        CliTest.Result r = CliTest.tessera("bench", "offline", "--model", TestModels.stories260K().toString(),
                "--tokenizer", TestModels.tok512().toString(), "--gen-tokens", "0");
        assertTrue(r.code() != 0);
        assertTrue(r.err().contains("must be positive"), r.err());
    }
}
