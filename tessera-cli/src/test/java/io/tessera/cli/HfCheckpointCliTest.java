package io.tessera.cli;

import static io.tessera.cli.CliTest.tessera;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.cli.CliTest.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hugging Face checkpoint directories through the commands: synth --format hf, info, run. */
class HfCheckpointCliTest {

    @TempDir
    Path dir;

    @Test
    void synthWritesACheckpointThatInfoAndRunOpen() throws Exception {
        Path ckpt = dir.resolve("Qwen3-tiny.v1");
        Result synth = tessera("synth", "--format", "hf", "--shape", "qwen3-0.6b", "--type", "BF16", "--layers", "1",
                "--vocab-size", "600", "-o", ckpt.toString());
        assertEquals(0, synth.code(), synth.err());
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                "generation_config.json"}) {
            assertTrue(Files.isRegularFile(ckpt.resolve(f)), f);
        }

        Result info = tessera("info", ckpt.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("hugging_face") && info.out().contains("architecture    qwen3"), info.out());
        assertTrue(info.out().contains("rope            neox") && info.out().contains("per-head Q/K norm"), info.out());
        assertTrue(info.out().contains("BF16") && info.out().contains("tied to the embedding"), info.out());

        Result run = tessera("run", "--model", ckpt.toString(), "--prompt", "the quick brown fox", "--temperature",
                "0", "--max-tokens", "8");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.err().contains("generated:"), run.err());
    }

    @Test
    void llamaCheckpointRunsWithItsOwnTokenizer() {
        Path ckpt = dir.resolve("llama");
        Result synth = tessera("synth", "--format", "hf", "--shape", "tiny-gqa", "--type", "F16", "--layers", "2",
                "-o", ckpt.toString());
        assertEquals(0, synth.code(), synth.err());
        Result run = tessera("run", "--model", ckpt.toString(), "--prompt", "hello", "--temperature", "0",
                "--max-tokens", "4");
        assertEquals(0, run.code(), run.err());
    }

    @Test
    void aHubModelIdIsToldThatNothingIsDownloaded() {
        for (String cmd : new String[] {"run", "info"}) {
            Result r = cmd.equals("run")
                    ? tessera("run", "--model", "meta-llama/Llama-3.2-1B-Instruct", "--prompt", "x")
                    : tessera("info", "Qwen/Qwen3-0.6B");
            assertEquals(1, r.code());
            assertTrue(r.err().contains("looks like a Hugging Face model id") && r.err().contains("does not download")
                    && r.err().contains("local checkpoint directory"), r.err());
            assertFalse(r.err().contains("model file not found"), r.err());
        }
        // a path that merely does not exist keeps the plain message
        Result missing = tessera("info", dir.resolve("nope/model.gguf").toString());
        assertTrue(missing.err().contains("model file not found"), missing.err());
    }

    @Test
    void badCheckpointRequestsGetOneClearLine() throws Exception {
        Result quantized = tessera("synth", "--format", "hf", "--shape", "tiny-gqa", "--type", "Q8_0",
                "-o", dir.resolve("q").toString());
        assertEquals(1, quantized.code());
        assertTrue(quantized.err().contains("--type 'Q8_0' cannot be written to a checkpoint"), quantized.err());

        Path ckpt = dir.resolve("llama");
        assertEquals(0, tessera("synth", "--format", "hf", "--shape", "tiny-gqa", "--type", "F32", "--layers", "1",
                "-o", ckpt.toString()).code());
        Result convert = tessera("convert", "--model", ckpt.toString(), "-o", dir.resolve("x.gguf").toString());
        assertEquals(1, convert.code());
        assertTrue(convert.err().contains("converting a Hugging Face checkpoint directory to GGUF is not supported yet"),
                convert.err());

        Path empty = Files.createDirectories(dir.resolve("empty"));
        Result notACheckpoint = tessera("info", empty.toString());
        assertEquals(1, notACheckpoint.code());
        assertTrue(notACheckpoint.err().contains("is a directory without config.json"), notACheckpoint.err());
    }
}
