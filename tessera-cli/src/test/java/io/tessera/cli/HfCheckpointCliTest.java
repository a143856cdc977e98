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
        Result badType = tessera("run", "--model", ckpt.toString(), "--quantize", "Q9_9", "--prompt", "x");
        assertEquals(1, badType.code());
        assertTrue(badType.err().contains("--quantize 'Q9_9' is not a weight type (supported: F32, F16, BF16, Q8_0, "
                + "Q4_0, Q4_1, Q4_K, Q6_K, Q4_K_M, FP8, W8A8)"), badType.err());
        Result badConvertType = tessera("convert", "--model", ckpt.toString(), "--type", "Q3_K", "-o",
                dir.resolve("x.gguf").toString());
        assertEquals(1, badConvertType.code());
        assertTrue(badConvertType.err().contains("(supported: F32, F16, BF16, Q8_0"), badConvertType.err());
        assertFalse(Files.exists(dir.resolve("x.gguf")));
        Result llama2c = tessera("run", "--model", io.tessera.core.TestModels.stories260K().toString(), "--tokenizer",
                io.tessera.core.TestModels.tok512().toString(), "--quantize", "Q8_0", "--prompt", "x");
        assertEquals(1, llama2c.code());
        assertTrue(llama2c.err().contains("convert a llama2.c checkpoint to GGUF with the type wanted instead"),
                llama2c.err());
        Result distributed = tessera("serve", "--model", ckpt.toString(), "--quantize", "Q8_0", "--tp", "2");
        assertEquals(1, distributed.code());
        assertTrue(distributed.err().contains("--quantize applies to a model served in this process"),
                distributed.err());

        Path empty = Files.createDirectories(dir.resolve("empty"));
        Result notACheckpoint = tessera("info", empty.toString());
        assertEquals(1, notACheckpoint.code());
        assertTrue(notACheckpoint.err().contains("is a directory without config.json"), notACheckpoint.err());
    }

    /**
     * A checkpoint converted to GGUF and the checkpoint itself generate the same text; quantized at
     * load it generates what its Q8_0 conversion does (Qwen 3: the same bytes in the same order).
     */
    @Test
    void convertedCheckpointAndQuantizeAtLoadGenerateAsTheCheckpoint() throws Exception {
        Path ckpt = dir.resolve("qwen3");
        assertEquals(0, tessera("synth", "--format", "hf", "--shape", "qwen3-0.6b", "--type", "BF16", "--layers", "1",
                "--vocab-size", "600", "-o", ckpt.toString()).code());
        Path f32 = dir.resolve("qwen3-f32.gguf");
        Path q8 = dir.resolve("qwen3-q8.gguf");
        Result convert = tessera("convert", "--model", ckpt.toString(), "--type", "F32", "-o", f32.toString());
        assertEquals(0, convert.code(), convert.err());
        assertTrue(convert.err().contains("convert: ") && convert.err().contains(" tensors"), convert.err());
        assertEquals(0, tessera("convert", "--model", ckpt.toString(), "--type", "Q8_0", "-o", q8.toString()).code());

        String fromCheckpoint = generated(run(ckpt));
        assertEquals(fromCheckpoint, generated(run(f32)));
        Result info = tessera("info", ckpt.toString(), "--quantize", "Q4_K_M");
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("quantized       Q4_K_M: matrices "), info.out());
        Result atLoad = run(ckpt, "--quantize", "Q8_0");
        assertTrue(atLoad.err().contains("quantizing the weights to Q8_0"), atLoad.err());
        assertEquals(generated(run(q8)), generated(atLoad));
    }

    /**
     * FP8 through the commands: synth and convert write FP8 checkpoint directories (channel and
     * block scales) that info reads and run generates from; a GGUF output or input is refused with
     * the reason; eval perplexity scores the F32 file quantized to FP8 at load against itself.
     */
    @Test
    void fp8CheckpointsThroughTheCommands() throws Exception {
        Path ckpt = dir.resolve("qwen3");
        assertEquals(0, tessera("synth", "--format", "hf", "--shape", "qwen3-0.6b", "--type", "BF16", "--layers", "1",
                "--vocab-size", "600", "-o", ckpt.toString()).code());
        Path block = dir.resolve("qwen3-fp8-block");
        Result convert = tessera("convert", "--model", ckpt.toString(), "--type", "FP8", "--fp8-scales", "block",
                "-o", block.toString());
        assertEquals(0, convert.code(), convert.err());
        assertTrue(convert.err().contains("(FP8, block scales"), convert.err());
        assertTrue(Files.readString(block.resolve("config.json")).contains("\"weight_block_size\""));
        assertTrue(Files.isRegularFile(block.resolve("tokenizer.json")), "tokenizer copied");
        Result info = tessera("info", block.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("F8_E4M3"), info.out());
        Result run = run(block);
        assertTrue(run.err().contains("generated:"), run.err());

        Path synth = dir.resolve("synth-fp8");
        Result synthFp8 = tessera("synth", "--format", "hf", "--shape", "tiny-gqa", "--type", "FP8", "--layers", "1",
                "-o", synth.toString());
        assertEquals(0, synthFp8.code(), synthFp8.err());
        assertTrue(Files.readString(synth.resolve("config.json")).contains("compressed-tensors"));

        Path gguf = dir.resolve("qwen3-f32.gguf");
        assertEquals(0, tessera("convert", "--model", ckpt.toString(), "--type", "F32", "-o", gguf.toString()).code());
        Result fromGguf = tessera("convert", "--model", gguf.toString(), "--type", "FP8", "-o",
                dir.resolve("x").toString());
        assertEquals(1, fromGguf.code());
        assertTrue(fromGguf.err().contains("GGUF has no FP8 type") && fromGguf.err().contains("--quantize FP8"),
                fromGguf.err());
        Result badScales = tessera("convert", "--model", ckpt.toString(), "--type", "FP8", "--fp8-scales", "row",
                "-o", dir.resolve("y").toString());
        assertEquals(1, badScales.code());
        assertTrue(badScales.err().contains("unknown FP8 scale layout 'row' (supported: channel, block)"),
                badScales.err());
        assertFalse(Files.exists(dir.resolve("x")) || Files.exists(dir.resolve("y")));
    }

    /** serve --quantize: the checkpoint is quantized while loading and answers over HTTP. */
    @Test
    void serveQuantizesACheckpointAtLoad() throws Exception {
        Path ckpt = dir.resolve("qwen3");
        assertEquals(0, tessera("synth", "--format", "hf", "--shape", "qwen3-0.6b", "--type", "BF16", "--layers", "1",
                "--vocab-size", "600", "-o", ckpt.toString()).code());
        ServeCommand cmd = new ServeCommand();
        new picocli.CommandLine(cmd).parseArgs(ckpt.toString(), "--quantize", "Q4_K_M", "--port", "0", "--threads", "1",
                "--kv-cache-memory", "8M");
        try (ServeCommand.Running r = cmd.start()) {
            for (io.tessera.core.tensor.Tensor t : r.loaded().model().matrices()) {
                assertTrue(t.type().quantized(), t.name() + " is " + t.type());
            }
            var http = java.net.http.HttpClient.newHttpClient();
            var response = http.send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create(r.server().baseUrl() + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\":\"the quick brown fox\",\"max_tokens\":4}")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode(), response.body());
            assertTrue(response.body().contains("\"completion_tokens\":4"), response.body());
        }
    }

    /** Eight greedy tokens of one prompt. */
    private static Result run(Path model, String... extra) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("run", "--model", model.toString(),
                "--prompt", "the quick brown fox", "--temperature", "0", "--max-tokens", "8"));
        args.addAll(java.util.List.of(extra));
        return tessera(args.toArray(String[]::new));
    }

    /** The generated text of a run (its stdout), which must have succeeded. */
    private static String generated(Result r) {
        assertEquals(0, r.code(), r.err());
        return r.out();
    }
}
