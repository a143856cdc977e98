package io.tessera.core.model;

import io.tessera.core.format.ModelFormatException;
import io.tessera.core.hf.HfCheckpoint;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Opens a model of any supported format: a file recognised by its first bytes, or a Hugging Face
 * checkpoint directory (one holding {@code config.json}).
 */
public final class ModelLoader {

    /** The model file formats Tessera reads. */
    public enum Format {
        GGUF, LLAMA2C, HUGGING_FACE
    }

    private static final int GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian int

    private ModelLoader() {
    }

    public static Model load(Path file) throws IOException {
        return load(file, LoadOptions.AS_STORED);
    }

    /**
     * As {@link #load(Path)}, the weights held as {@code options} say; quantizing at load applies
     * to GGUF files and checkpoint directories (a llama2.c checkpoint is converted instead).
     */
    public static Model load(Path file, LoadOptions options) throws IOException {
        Format format = detect(file);
        if (format == Format.LLAMA2C && options.quantize() != null) {
            throw new ModelFormatException(file, "--quantize", "applies to GGUF files and checkpoint directories; "
                    + "convert a llama2.c checkpoint to GGUF with the type wanted instead");
        }
        return switch (format) {
            case GGUF -> GgufModelLoader.load(file, options);
            case LLAMA2C -> Llama2cLoader.load(file);
            case HUGGING_FACE -> HfCheckpoint.load(file, options);
        };
    }

    public static Format detect(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, HubModelId.looksLikeOne(file)
                    ? HubModelId.NOT_DOWNLOADED : "model file not found");
        }
        if (Files.isDirectory(file)) {
            if (HfCheckpoint.isCheckpoint(file)) {
                return Format.HUGGING_FACE;
            }
            throw new ModelFormatException(file, "path", "is a directory without config.json, expected a model file "
                    + "or a Hugging Face checkpoint directory");
        }
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, 4);
        }
        if (n < 4) {
            throw new ModelFormatException(file, "header", "file has only " + n + " bytes");
        }
        int magic = (head[0] & 0xff) | (head[1] & 0xff) << 8 | (head[2] & 0xff) << 16 | (head[3] & 0xff) << 24;
        // llama2.c checkpoints have no magic; they start with the (small, positive) model dimension.
        return magic == GGUF_MAGIC ? Format.GGUF : Format.LLAMA2C;
    }
}
