package io.tessera.core.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The pieces of a SentencePiece {@code tokenizer.model} (the protobuf {@code ModelProto}): field 1
 * holds one {@code SentencePiece} per id, each its piece text (1), score (2, float) and type (3:
 * normal 1, unknown 2, control 3, user-defined 4, unused 5, byte 6; normal when absent). The
 * trainer and normalizer specs are skipped. A malformed file is refused with the byte offset at fault.
 */
public final class SentencePieceModelFile {

    /** One vocabulary entry as the file stores it. */
    public record Piece(String text, float score, int type) {
    }

    private static final int MAX_BYTES = 64 << 20;

    private SentencePieceModelFile() {
    }

    public static List<Piece> read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new IOException(file + ": " + size + " bytes is too large for a SentencePiece model");
        }
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<Piece> pieces = new ArrayList<>();
        try {
            while (in.hasRemaining()) {
                long key = varint(in);
                int field = (int) (key >>> 3);
                int wire = (int) (key & 7);
                if (field == 1 && wire == 2) {
                    pieces.add(piece(slice(in)));
                } else {
                    skip(in, wire);
                }
            }
        } catch (RuntimeException e) {
            throw new IOException(file + ": not a SentencePiece model (at byte " + in.position() + "): "
                    + e.getMessage(), e);
        }
        if (pieces.isEmpty()) {
            throw new IOException(file + ": a SentencePiece model without pieces");
        }
        return List.copyOf(pieces);
    }

    private static Piece piece(ByteBuffer in) {
        String text = "";
        float score = 0f;
        int type = Vocabulary.NORMAL;
        while (in.hasRemaining()) {
            long key = varint(in);
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 1 && wire == 2) {
                ByteBuffer s = slice(in);
                byte[] b = new byte[s.remaining()];
                s.get(b);
                text = new String(b, StandardCharsets.UTF_8);
            } else if (field == 2 && wire == 5) {
                score = in.getFloat();
            } else if (field == 3 && wire == 0) {
                type = (int) varint(in);
                if (type < Vocabulary.NORMAL || type > Vocabulary.BYTE) {
                    throw new IllegalArgumentException("piece '" + text + "' has type " + type + " (expected 1..6)");
                }
            } else {
                skip(in, wire);
            }
        }
        return new Piece(text, score, type);
    }

    private static long varint(ByteBuffer in) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = in.get();
            v |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return v;
            }
        }
        throw new IllegalArgumentException("varint longer than 10 bytes");
    }

    private static ByteBuffer slice(ByteBuffer in) {
        long n = varint(in);
        if (n < 0 || n > in.remaining()) {
            throw new IllegalArgumentException("a field of " + n + " bytes runs past the end");
        }
        ByteBuffer s = in.slice(in.position(), (int) n).order(ByteOrder.LITTLE_ENDIAN);
        in.position(in.position() + (int) n);
        return s;
    }

    private static void skip(ByteBuffer in, int wire) {
        switch (wire) {
            case 0 -> varint(in);
            case 1 -> in.position(in.position() + 8);
            case 2 -> slice(in);
            case 5 -> in.position(in.position() + 4);
            default -> throw new IllegalArgumentException("wire type " + wire + " is not one protobuf writes");
        }
    }
}
