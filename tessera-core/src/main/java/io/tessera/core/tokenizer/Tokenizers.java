package io.tessera.core.tokenizer;

import io.tessera.core.gguf.GgufFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Opens a tokenizer from wherever one is kept: a GGUF file, a tokenizer.json, or a model directory. */
public final class Tokenizers {
    private static final byte[] GGUF_MAGIC = {'G', 'G', 'U', 'F'};

    private Tokenizers() {
    }

    /**
     * A GGUF file (its {@code tokenizer.ggml.*} metadata), a {@code tokenizer.json} (with the
     * {@code tokenizer_config.json} beside it, if any), or a directory holding tokenizer.json.
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
        Path parent = path.toAbsolutePath().getParent();
        return TokenizerJson.read(path, parent == null ? null : parent.resolve("tokenizer_config.json"));
    }

    private static boolean isGguf(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return Arrays.equals(in.readNBytes(4), GGUF_MAGIC);
        }
    }
}
