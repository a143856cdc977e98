package io.tessera.cli;

import static io.tessera.cli.CliTest.tessera;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.GoldenCases;
import io.tessera.core.TestModels;
import io.tessera.core.kernel.Kernels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code --kernels} and {@code info --system}: the choice of kernels as a user makes and sees it. */
class KernelsCliTest {

    @AfterEach
    void restore() {
        Kernels.use(Kernels.Mode.AUTO);
    }

    @Test
    void infoSystemNamesTheCpuFeaturesAndTheKernelsAutoPicks() throws Exception {
        assertNotNull(Kernels.best(), () -> "native kernels unavailable: " + Kernels.unavailableReason());
        CliTest.Result r = tessera("info", "--system");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("kernels         native " + Kernels.best().variant().id()), r.out());
        assertTrue(r.out().contains("cpu features    "), r.out());
        JsonNode json = new ObjectMapper().readTree(tessera("info", "--system", "--json").out());
        assertEquals("native " + Kernels.best().variant().id(), json.get("kernels").asText());
        assertTrue(json.get("native_variants_runnable").toString().contains("generic"), json.toString());
        CliTest.Result none = tessera("info");
        assertNotEquals(0, none.code());
        assertTrue(none.err().contains("give a model PATH, or --system"), none.err());
    }

    /** Both kernel choices generate the golden text: the same greedy tokens. */
    @Test
    void runGivesTheSameTextOnEitherKernels() throws Exception {
        GoldenCases.Case golden = GoldenCases.load().get(0);
        String[] texts = new String[2];
        String[] kinds = {"java", "native"};
        for (int i = 0; i < 2; i++) {
            CliTest.Result r = tessera("run", "--model", TestModels.stories260K().toString(), "--tokenizer",
                    TestModels.tok512().toString(), "--prompt", golden.prompt(), "--temperature", "0", "--max-tokens", "40",
                    "--kernels", kinds[i]);
            assertEquals(0, r.code(), r.err());
            texts[i] = r.out();
        }
        assertEquals(texts[0], texts[1]);
        assertTrue(golden.text().substring(golden.prompt().length()).startsWith(texts[1].stripTrailing()), texts[1]);
    }

    /** bench throughput names the kernels it ran, in its report and its JSON. */
    @Test
    void benchThroughputNamesTheKernels() throws Exception {
        for (String kind : new String[] {"java", "native"}) {
            CliTest.Result r = tessera("bench", "throughput", "--model", TestModels.stories260K().toString(),
                    "--num-prompts", "2", "--input-len", "4", "--output-len", "4", "--kv-cache-memory", "8M",
                    "--threads", "1", "--kernels", kind, "--json");
            assertEquals(0, r.code(), r.err());
            String name = kind.equals("java") ? "java" : "native " + Kernels.best().variant().id();
            assertEquals(name, new ObjectMapper().readTree(r.out()).get("kernels").asText(), r.out());
            assertTrue(r.err().contains("(threads 1, kernels " + name + ")"), r.err());
        }
    }

    @Test
    void anUnknownKernelChoiceIsRefusedByName() {
        CliTest.Result r = tessera("run", "--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--prompt", "x", "--kernels", "fast");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("--kernels: 'fast' is not one of auto, native, java"), r.err());
    }
}
