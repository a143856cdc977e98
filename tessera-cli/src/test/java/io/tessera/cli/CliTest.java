package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.GoldenCases;
import io.tessera.core.TestModels;
import io.tessera.core.model.GgufEdits;
import io.tessera.core.model.Stories260K;
import io.tessera.core.gguf.GgufFile;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.tokenizer.GgufTokenizers;
import io.tessera.core.tokenizer.SyntheticByteLevelTokenizer;
import io.tessera.core.tokenizer.TokenizerJson;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The commands as a user runs them (in-process), with their standard output and error. */
class CliTest {

    @TempDir
    Path dir;

    record Result(int code, String out, String err) {
    }

    static Result tessera(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        StringWriter cliErr = new StringWriter();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = CliErrors.install(new CommandLine(new Tessera()))
                    .setErr(new PrintWriter(cliErr, true)).execute(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8) + cliErr);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void runPrintsOnlyTheGeneratedTextAndTimingGoesToStderr() throws Exception {
        GoldenCases.Case golden = GoldenCases.load().get(0);
        Result r = tessera("run", "--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--prompt", golden.prompt(), "--temperature", "0", "--max-tokens", "40");
        assertEquals(0, r.code(), r.err());
        String expected = golden.text().substring(golden.prompt().length());
        String text = r.out().stripTrailing();
        assertTrue(expected.startsWith(text) && text.length() > 100, "got: " + text);
        assertTrue(r.err().contains("generated: 40 tokens"), r.err());
    }

    /**
     * A --chat conversation: each line is a turn over the whole history (the second turn takes the
     * first's KV from the prefix cache), /reset forgets it, and a history that outgrows the context
     * loses its oldest exchange instead of failing.
     */
    @Test
    void chatAnswersEachLineOverTheConversation() throws Exception {
        java.io.InputStream oldIn = System.in;
        System.setIn(new java.io.ByteArrayInputStream(("Tell me a story\nWhat happened next?\n/reset\n"
                + "Once upon a time\nAnd then?\nMore!\nThe end?\n/exit\nnot read\n").getBytes(StandardCharsets.UTF_8)));
        Result r;
        try {
            r = tessera("run", "--model", TestModels.stories260K().toString(), "--tokenizer",
                    TestModels.tok512().toString(), "--chat", "--system", "You tell stories.", "--temperature", "0",
                    "--max-tokens", "150");
        } finally {
            System.setIn(oldIn);
        }
        assertEquals(0, r.code(), r.err());
        java.util.List<String> turns = r.err().lines().filter(l -> l.contains(" prompt tokens, ")).toList();
        assertEquals(6, turns.size(), r.err());
        int[] second = promptAndCached(turns.get(1));
        int[] afterReset = promptAndCached(turns.get(2));
        assertTrue(second[1] > second[0] / 2, "the first exchange comes from the cache: " + turns.get(1));
        assertTrue(afterReset[1] < afterReset[0] && afterReset[1] < second[1],
                "after /reset only the system message is cached: " + turns.get(2));
        assertTrue(r.err().contains("(conversation forgotten)"), r.err());
        assertTrue(r.err().contains("its oldest exchange was dropped"), r.err());
        assertTrue(!r.out().isBlank(), r.out());
    }

    private static int[] promptAndCached(String turn) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) prompt tokens, (\\d+) from the cache")
                .matcher(turn);
        assertTrue(m.find(), turn);
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }

    @Test
    void convertThenRunAndInfoOnTheGgufFile() throws Exception {
        Path gguf = dir.resolve("s.gguf");
        Result c = tessera("convert", "--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.tok512().toString(), "--type", "Q8_0", "-o", gguf.toString());
        assertEquals(0, c.code(), c.err());
        assertTrue(Files.size(gguf) > 100_000);

        Result info = tessera("info", gguf.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("parameters      260.0 K"), info.out());
        assertTrue(info.out().contains("Q8_0"), info.out());

        Result run = tessera("run", "--model", gguf.toString(), "--prompt", "Once upon a time", "--temperature", "0",
                "--max-tokens", "20");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().startsWith(", there was a little girl"), run.out());
    }

    @Test
    void synthWritesALoadableModel() throws Exception {
        Path out = dir.resolve("tiny.gguf");
        Result r = tessera("synth", "--shape", "tiny-gqa", "--type", "Q4_0", "--vocab-size", "600", "--layers", "2",
                "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().matches("(?s).*synth: (\\d+)/\\1 tensors, .*"), "the last progress line: " + r.err());
        Result info = tessera("info", "--json", out.toString());
        assertTrue(info.out().contains("\"vocab_size\" : 600"), info.out());
        Result run = tessera("run", "--model", out.toString(), "--prompt", "hello", "--max-tokens", "5", "--seed", "1");
        assertEquals(0, run.code(), run.err());
    }

    @Test
    void synthQwen3ShapeRunsWithItsPerHeadNorms() throws Exception {
        Path out = dir.resolve("qwen3.gguf");
        Result r = tessera("synth", "--shape", "qwen3-0.6b", "--type", "Q8_0", "--vocab-size", "600", "--layers", "1",
                "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        Result info = tessera("info", out.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("architecture    qwen3"), info.out());
        assertTrue(info.out().contains("16 query, 8 key/value (head dim 128)"), info.out());
        assertTrue(info.out().contains("attention       per-head Q/K norm"), info.out());
        assertTrue(info.out().contains("rope            neox, base 1000000"), info.out());
        Result run = tessera("run", "--model", out.toString(), "--prompt", "hello", "--max-tokens", "5", "--seed", "1");
        assertEquals(0, run.code(), run.err());
    }

    @Test
    void errorsAreOneClearLine() {
        Result noTokenizer = tessera("run", "--model", TestModels.stories260K().toString(), "--prompt", "x");
        assertEquals(1, noTokenizer.code());
        assertTrue(noTokenizer.err().contains("stories260K.bin: tokenizer: a llama2.c checkpoint carries no tokenizer"),
                noTokenizer.err());

        Result missing = tessera("info", dir.resolve("nope.gguf").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("nope.gguf") && missing.err().contains("not found"), missing.err());

        Result badType = tessera("synth", "--shape", "tiny-gqa", "--type", "Q5_K", "-o", dir.resolve("x").toString());
        assertEquals(1, badType.code());
        assertTrue(badType.err().contains("Q5_K is not supported"), badType.err());

        Result badShape = tessera("synth", "--shape", "gpt-5", "-o", dir.resolve("x").toString());
        assertTrue(badShape.err().contains("unknown model shape 'gpt-5'"), badShape.err());
    }

    @Test
    void runRefusesATokenizerOfAnotherVocabulary() {
        Result r = tessera("run", "--model", TestModels.stories260K().toString(), "--tokenizer",
                TestModels.file("tokenizer-llama2-32k.bin").toString(), "--prompt", "Once", "--max-tokens", "5");
        assertEquals(1, r.code(), r.out());
        assertEquals("", r.out());
        assertTrue(r.err().contains("has 32000 tokens but the model's embedding has 512 rows"), r.err());
    }

    @Test
    void errorsNeverCarryControlCharactersToTheTerminal() throws Exception {
        Path evil = Stories260K.convert(dir, "F32");
        Path renamed = GgufEdits.rewrite(evil, dir.resolve("evil.gguf"),
                w -> w.putString("general.architecture", "\u001b]0;owned\u0007\u001b[2Jllama"));
        Result info = tessera("info", renamed.toString());
        assertEquals(1, info.code());
        assertTrue(info.err().contains("architecture '\\x1b]0;owned\\x07\\x1b[2Jllama' is not supported"),
                info.err());
        Result missing = tessera("info", dir.resolve("\u001b[31mred.gguf").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("\\x1b[31mred.gguf"), missing.err());
        for (Result r : new Result[] {info, missing}) {
            assertTrue(r.err().chars().noneMatch(c -> c == 0x1b || c == 0x07), r.err());
        }
    }

    @Test
    void convertRequantizesAByteLevelVocabularyKeepingItsTokenizer() throws Exception {
        Path tokenizerDir = Files.createDirectories(dir.resolve("tokenizer"));
        SyntheticByteLevelTokenizer.write(tokenizerDir, 512);
        var byteLevel = TokenizerJson.readDirectory(tokenizerDir);
        Path model = GgufEdits.rewrite(Stories260K.convert(dir, "F32"), dir.resolve("gpt2-vocab.gguf"),
                w -> GgufTokenizers.writeBpe(byteLevel, "gpt2", w));
        Path out = dir.resolve("out.gguf");
        Result r = tessera("convert", "--model", model.toString(), "--type", "Q8_0", "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("convert: ") && r.err().contains("tensors"), "a progress line: " + r.err());
        try (GgufFile in = GgufFile.open(model); GgufFile converted = GgufFile.open(out)) {
            for (String key : in.metadata().keys()) {
                if (key.startsWith("tokenizer.")) {
                    assertEquals(String.valueOf(in.metadata().value(key)), String.valueOf(converted.metadata().value(key)),
                            key + " is copied as it is");
                }
            }
            assertEquals(7, converted.metadata().getInt("general.file_type"));
        }
        try (LoadedModel a = LoadedModel.open(model, null); LoadedModel b = LoadedModel.open(out, null)) {
            String text = "Once upon a time, there was a little girl named Lily.";
            assertArrayEquals(a.tokenizer().encode(text, true), b.tokenizer().encode(text, true));
        }
    }
}
