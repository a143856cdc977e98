package io.tessera.core.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a tokenizer in llama2.c's format: int32 max_token_length, then for each piece a float32
 * score, an int32 byte length and the UTF-8 bytes, all little-endian. Ids 0, 1, 2 are unknown,
 * BOS and EOS.
 */
public final class Llama2cTokenizerReader {
    /** A tokenizer file this big is certainly not one; refuse it before reading it into memory. */
    private static final long MAX_FILE_SIZE = 256L << 20;

    private Llama2cTokenizerReader() {}

    /** Reads every entry of the file (the format does not store its count). */
    public static Vocabulary read(Path file) throws IOException {
        return read(file, -1);
    }

    /** Reads the first {@code vocabSize} entries, or all of them when vocabSize is -1. */
    public static Vocabulary read(Path file, int vocabSize) throws IOException {
        if (vocabSize < 3 && vocabSize != -1) {
            throw new IllegalArgumentException("vocabulary size " + vocabSize + " is too small for a llama2.c tokenizer"
                    + " (ids 0, 1, 2 are unk, bos, eos)");
        }
        long size = Files.size(file);
        if (size > MAX_FILE_SIZE) {
            throw new IOException(file + ": " + size + " bytes is too large for a llama2.c tokenizer file");
        }
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        need(file, buf, 4, "the header");
        int maxTokenLength = buf.getInt();
        if (maxTokenLength < 0) {
            throw new IOException(file + ": negative max_token_length " + maxTokenLength + "; not a llama2.c tokenizer");
        }
        if (vocabSize == -1) {
            vocabSize = countEntries(file, buf.duplicate().order(ByteOrder.LITTLE_ENDIAN));
        }
        String[] pieces = new String[vocabSize];
        float[] scores = new float[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            need(file, buf, 8, "piece " + i + " of " + vocabSize);
            scores[i] = buf.getFloat();
            int len = buf.getInt();
            if (len < 0) {
                throw new IOException(file + ": piece " + i + " has negative length " + len + " at byte "
                        + (buf.position() - 4));
            }
            need(file, buf, len, "the " + len + " bytes of piece " + i);
            byte[] bytes = new byte[len];
            buf.get(bytes);
            pieces[i] = new String(bytes, StandardCharsets.UTF_8);
        }
        // llama2.c's exporter wraps BOS and EOS in newlines ("\n<s>\n"); keep the plain names so
        // that special-token parsing recognises "<s>" and "</s>". Control tokens decode to nothing anyway.
        pieces[1] = pieces[1].strip();
        pieces[2] = pieces[2].strip();
        return new Vocabulary(pieces, scores, null, 1, 2, 0, -1, true, true);
    }

    private static int countEntries(Path file, ByteBuffer buf) throws IOException {
        int n = 0;
        while (buf.remaining() >= 8) {
            buf.getFloat();
            int len = buf.getInt();
            if (len < 0 || len > buf.remaining()) {
                throw new IOException(file + ": piece " + n + " has an invalid length " + len + " at byte "
                        + (buf.position() - 4));
            }
            buf.position(buf.position() + len);
            n++;
        }
        if (buf.hasRemaining() || n < 3) {
            throw new IOException(file + ": not a llama2.c tokenizer (" + n + " whole entries, " + buf.remaining()
                    + " stray bytes at the end)");
        }
        return n;
    }

    private static void need(Path file, ByteBuffer buf, int n, String what) throws IOException {
        if (buf.remaining() < n) {
            throw new IOException(file + ": truncated or corrupt llama2.c tokenizer: " + what + " needs " + n
                    + " bytes at offset " + buf.position() + " but only " + buf.remaining() + " remain");
        }
    }
}
