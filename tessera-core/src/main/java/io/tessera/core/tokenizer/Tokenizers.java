package io.tessera.core.tokenizer;

import io.tessera.core.gguf.GgufFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Opens a tokenizer from wherever one is kept: a GGUF file, a tokenizer.json, a model directory, or a
 * llama2.c tokenizer file.
 */
public final class Tokenizers {
    private static final byte[] GGUF_MAGIC = {'G', 'G', 'U', 'F'};

    private Tokenizers() {
    }

    /**
     * A GGUF file (its {@code tokenizer.ggml.*} metadata), a {@code tokenizer.json} (with the
     * {@code tokenizer_config.json} beside it, if any), a directory holding tokenizer.json, or a
     * llama2.c tokenizer file ({@code tokenizer.bin}), told apart by their first bytes.
     */
    public static Tokenizer open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            return TokenizerJson.readDirectory(path);
        }
        if (!Files.isRegularFile(path)) {
            throw new IOException(path + ": no such file or directory");
        }
        if (isGguf(path)) {
            try (GgufFile gguf = GgufFile.open(path)) {
                return GgufTokenizers.read(gguf.metadata());
            }
        }
        if (startsLikeJson(path)) {
            Path parent = path.toAbsolutePath().getParent();
            return TokenizerJson.read(path, parent == null ? null : parent.resolve("tokenizer_config.json"));
        }
        try {
            return new SentencePieceBpeTokenizer(Llama2cTokenizerReader.read(path));
        } catch (IOException | RuntimeException e) {
            throw new IOException(path + ": neither a GGUF file, a tokenizer.json nor a llama2.c tokenizer (read as"
                    + " the last: " + e.getMessage() + ")", e);
        }
    }

    private static boolean isGguf(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return Arrays.equals(in.readNBytes(4), GGUF_MAGIC);
        }
    }

    /** Whether the file's first byte after whitespace (and a UTF-8 byte order mark) opens a JSON object. */
    private static boolean startsLikeJson(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            byte[] head = in.readNBytes(64);
            for (int i = 0; i < head.length; i++) {
                int b = head[i] & 0xff;
                if (i < 3 && (b == 0xef || b == 0xbb || b == 0xbf) || b == ' ' || b == '\t' || b == '\n'
                        || b == '\r') {
                    continue;
                }
                return b == '{';
            }
            return false;
        }
    }
}
