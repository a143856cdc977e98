package io.tessera.cli;

import static io.tessera.cli.CliTest.tessera;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.tokenizer.BpeTokenizer;
import io.tessera.core.tokenizer.GgufTokenizers;
import io.tessera.core.tokenizer.NpmTokenizers;
import io.tessera.core.tokenizer.TokenizerJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tessera tokenize} on a model directory, a tokenizer.json and a GGUF file. */
class TokenizeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static int[] ids(String json) throws Exception {
        JsonNode node = JSON.readTree(json);
        assertEquals(1, node.size(), json);
        int[] ids = new int[node.get("ids").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = node.get("ids").get(i).asInt();
        return ids;
    }

    @Test
    void modelDirectoryPrintsIdsAsJsonAndMatchesSpecialTokenStrings() throws Exception {
        Path models = NpmTokenizers.qwen3();
        String text = "<|im_start|>user\nHello, 世界! 12345<|im_end|>";
        CliTest.Result r = tessera("tokenize", "--tokenizer", models.toString(), "--text", text, "--json");
        assertEquals(0, r.code(), r.err());
        BpeTokenizer tok = TokenizerJson.readDirectory(models);
        int[] ids = ids(r.out());
        assertArrayEquals(tok.encode(text, true, true), ids);
        assertEquals(tok.id("<|im_start|>"), ids[0], "the special-token string is one token");
    }

    /** A llama2.c tokenizer file tokenizes as the model run with it does; a checkpoint is not mistaken for one. */
    @Test
    void llama2cTokenizerFileAndAClearErrorForAModelFile() throws Exception {
        String text = "Once upon a time";
        CliTest.Result r = tessera("tokenize", "--tokenizer", io.tessera.core.TestModels.tok512().toString(), "--text",
                text);
        assertEquals(0, r.code(), r.err());
        int[] ids = Arrays.stream(r.out().trim().split(" ")).mapToInt(Integer::parseInt).toArray();
        io.tessera.core.tokenizer.Tokenizer tok = new io.tessera.core.tokenizer.SentencePieceBpeTokenizer(
                io.tessera.core.tokenizer.Llama2cTokenizerReader.read(io.tessera.core.TestModels.tok512()));
        assertArrayEquals(tok.encode(text, true, true), ids);
        assertEquals(1, ids[0], "BOS first");

        CliTest.Result model = tessera("tokenize", "--tokenizer", io.tessera.core.TestModels.stories260K().toString(),
                "--text", text);
        assertEquals(1, model.code());
        assertTrue(model.err().contains("neither a GGUF file, a tokenizer.json nor a llama2.c tokenizer"), model.err());
    }

    @Test
    void noSpecialDropsTheBosButKeepsSpecialStringsInTheText() throws Exception {
        Path json = NpmTokenizers.llama2().resolve("tokenizer.json");
        CliTest.Result with = tessera("tokenize", "--tokenizer", json.toString(), "--text", "Hi</s>there");
        CliTest.Result without = tessera("tokenize", "--tokenizer", json.toString(), "--text", "Hi</s>there",
                "--no-special");
        assertEquals(0, with.code(), with.err());
        assertEquals(0, without.code(), without.err());
        int[] a = Arrays.stream(with.out().trim().split(" ")).mapToInt(Integer::parseInt).toArray();
        int[] b = Arrays.stream(without.out().trim().split(" ")).mapToInt(Integer::parseInt).toArray();
        assertEquals(1, a[0], "BOS first");
        assertNotEquals(1, b[0], "no BOS with --no-special");
        assertArrayEquals(Arrays.copyOfRange(a, 1, a.length), b);
        assertTrue(Arrays.stream(b).anyMatch(id -> id == 2), "</s> in the text is the EOS token: " + without.out());
    }

    @Test
    void ggufFileAndTextFileGiveTheSameIdsAsTheTokenizerJson() throws Exception {
        Path models = NpmTokenizers.llama3();
        BpeTokenizer tok = TokenizerJson.readDirectory(models);
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama");
        GgufTokenizers.writeBpe(tok, "llama-bpe", w);
        Path gguf = dir.resolve("llama3-tokenizer.gguf");
        w.write(gguf);
        String text = "def f(x):\n\treturn x  *  2  # 😀 ñ 1234567\n";
        Path file = dir.resolve("text.txt");
        Files.writeString(file, text);
        CliTest.Result r = tessera("tokenize", "--tokenizer", gguf.toString(), "--file", file.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(tok.encode(text, true, true), ids(r.out()));
    }

    @Test
    void badInputGetsAClearError() throws Exception {
        CliTest.Result missing = tessera("tokenize", "--tokenizer", dir.resolve("nope").toString(), "--text", "x");
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("nope") && missing.err().contains("no such file"), missing.err());

        CliTest.Result both = tessera("tokenize", "--tokenizer", dir.toString(), "--text", "x", "--file", "y");
        assertEquals(2, both.code());
        assertTrue(both.err().contains("mutually exclusive"), both.err());

        Path binary = dir.resolve("binary.txt");
        Files.write(binary, new byte[] {'a', (byte) 0xC3, '(', (byte) 0xFF});
        CliTest.Result notUtf8 = tessera("tokenize", "--tokenizer", NpmTokenizers.llama2().toString(), "--file",
                binary.toString());
        assertEquals(1, notUtf8.code());
        assertTrue(notUtf8.err().contains("binary.txt: not valid UTF-8"), notUtf8.err());

        CliTest.Result noJson = tessera("tokenize", "--tokenizer", dir.toString(), "--text", "x");
        assertEquals(1, noJson.code());
        assertTrue(noJson.err().contains("no tokenizer.json"), noJson.err());
    }
}
