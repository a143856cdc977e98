package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.TestModels;
import org.junit.jupiter.api.Test;

/** {@code tessera bench throughput} with prompt-lookup speculation: its counters in the JSON; bad flags named. */
class BenchThroughputSpeculativeTest {

    @Test
    void jsonReportsProposalsAndAcceptance() throws Exception {
        CliTest.Result r = CliTest.tessera("bench", "throughput", "--model", TestModels.stories260K().toString(),
                "--num-prompts", "4", "--input-len", "32", "--output-len", "24", "--prompt-period", "8",
                "--threads", "1", "--speculative-method", "ngram", "--num-speculative-tokens", "3",
                "--prompt-lookup-max", "3", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertEquals("ngram", o.get("speculative_method").asText());
        assertEquals(3, o.get("num_speculative_tokens").asInt());
        assertEquals(8, o.get("prompt_period").asInt());
        assertEquals(4 * 24, o.get("output_tokens").asInt());
        long proposed = o.get("spec_proposed_tokens").asLong();
        long accepted = o.get("spec_accepted_tokens").asLong();
        assertTrue(proposed > 0 && accepted <= proposed, r.out());
        assertEquals(proposed == 0 ? 0 : (double) accepted / proposed, o.get("spec_acceptance_rate").asDouble(), 1e-12);
        assertEquals(3, o.get("spec_acceptance_rate_per_position").size(), r.out());
        assertTrue(o.get("spec_tokens_per_step").asDouble() >= 1, r.out());
    }

    @Test
    void badSpeculationFlagsAreNamed() {
        String model = TestModels.stories260K().toString();
        CliTest.Result r = CliTest.tessera("bench", "throughput", "--model", model, "--num-prompts", "1",
                "--speculative-method", "eagle");
        assertTrue(r.code() != 0);
        assertTrue(r.err().contains("--speculative-method: 'eagle' is not a method; use none, ngram or draft"), r.err());
        r = CliTest.tessera("bench", "throughput", "--model", model, "--num-prompts", "1",
                "--num-speculative-tokens", "3");
        assertTrue(r.code() != 0);
        assertTrue(r.err().contains("--num-speculative-tokens needs --speculative-method ngram"), r.err());
        r = CliTest.tessera("bench", "throughput", "--model", model, "--num-prompts", "1",
                "--speculative-method", "ngram", "--num-speculative-tokens", "33");
        assertTrue(r.code() != 0);
        assertTrue(r.err().contains("--num-speculative-tokens must be in [0, 32], got 33"), r.err());
        r = CliTest.tessera("bench", "throughput", "--model", model, "--num-prompts", "1",
                "--speculative-method", "ngram", "--prompt-lookup-min", "3", "--prompt-lookup-max", "2");
        assertTrue(r.code() != 0);
        assertTrue(r.err().contains("--prompt-lookup-max (2) must be at least --prompt-lookup-min (3)"), r.err());
    }

    @Test
    void runGivesTheSameGreedyTextWithPromptLookup() {
        String[] base = {"run", "--model", TestModels.stories260K().toString(), "--tokenizer",
            TestModels.tok512().toString(), "--prompt", "Tom had a red ball. Tom had a red ball. Tom had a",
            "--max-tokens", "48", "--temperature", "0", "--threads", "1"};
        CliTest.Result plain = CliTest.tessera(base);
        String[] withSpec = java.util.Arrays.copyOf(base, base.length + 4);
        System.arraycopy(new String[] {"--speculative-method", "ngram", "--num-speculative-tokens", "3"}, 0, withSpec,
                base.length, 4);
        CliTest.Result spec = CliTest.tessera(withSpec);
        assertEquals(0, plain.code(), plain.err());
        assertEquals(0, spec.code(), spec.err());
        assertEquals(plain.out(), spec.out());
        assertTrue(spec.err().contains("speculation (ngram): "), spec.err());
    }
}
