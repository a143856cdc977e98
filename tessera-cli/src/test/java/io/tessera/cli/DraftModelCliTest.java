package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --speculative-model}: a draft of fewer layers of the same synthetic model; another tokenizer refused. */
class DraftModelCliTest {

    @TempDir
    Path dir;

    Path synth(String name, String... extra) {
        Path out = dir.resolve(name);
        String[] args = {"synth", "--shape", "tiny-gqa", "--type", "F32", "--seed", "7", "-o", out.toString()};
        String[] all = new String[args.length + extra.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(extra, 0, all, args.length, extra.length);
        CliTest.Result r = CliTest.tessera(all);
        assertEquals(0, r.code(), r.err());
        return out;
    }

    @Test
    void benchThroughputSpeculatesWithADraftModel() throws Exception {
        Path target = synth("target.gguf");
        Path draft = synth("draft.gguf", "--layers", "1");
        CliTest.Result r = CliTest.tessera("bench", "throughput", "--model", target.toString(), "--num-prompts", "2",
                "--input-len", "24", "--output-len", "20", "--threads", "1", "--speculative-model", draft.toString(),
                "--num-speculative-tokens", "3", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertEquals("draft", o.get("speculative_method").asText());
        assertEquals(draft.toString(), o.get("speculative_model").asText());
        assertEquals(2 * 20, o.get("output_tokens").asInt());
        assertTrue(o.get("spec_proposed_tokens").asLong() > 0, r.out());
    }

    @Test
    void aDraftWithAnotherVocabularyIsRefused() {
        Path target = synth("target.gguf");
        Path other = synth("other.gguf", "--layers", "1", "--vocab-size", "300");
        CliTest.Result r = CliTest.tessera("bench", "throughput", "--model", target.toString(), "--num-prompts", "1",
                "--speculative-model", other.toString());
        assertTrue(r.code() != 0);
        assertTrue(r.err().contains("--speculative-model " + other + " does not share the model's tokenizer: its "
                + "vocabulary has 300 tokens"), r.err());
        r = CliTest.tessera("bench", "throughput", "--model", target.toString(), "--num-prompts", "1",
                "--speculative-method", "draft");
        assertTrue(r.code() != 0);
        assertTrue(r.err().contains("--speculative-method draft needs --speculative-model FILE"), r.err());
    }
}
