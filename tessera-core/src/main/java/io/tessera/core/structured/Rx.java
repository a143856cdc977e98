package io.tessera.core.structured;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A regular language over bytes, as a tree: what JSON schemas, regular expressions and choice
 * lists compile to before {@link Nfa} turns it into an automaton. Characters are UTF-8 byte
 * sequences, so a token's bytes can be walked through it even when they end mid-character.
 */
public sealed interface Rx {

    /** One byte from a set (256 bits). */
    record Bytes(long[] bits) implements Rx {
        public Bytes {
            bits = bits.clone();
        }

        boolean contains(int b) {
            return (bits[b >>> 6] & (1L << b)) != 0;
        }

        boolean isEmpty() {
            return (bits[0] | bits[1] | bits[2] | bits[3]) == 0;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Bytes b && Arrays.equals(b.bits, bits);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bits);
        }
    }

    /** The parts one after the other (empty: the empty string). */
    record Seq(List<Rx> parts) implements Rx {
        public Seq {
            parts = List.copyOf(parts);
        }
    }

    /** Any one of the options (empty: nothing at all). */
    record Alt(List<Rx> options) implements Rx {
        public Alt {
            options = List.copyOf(options);
        }
    }

    /** {@code item} repeated min..max times; max -1 for no limit. */
    record Repeat(Rx item, int min, int max) implements Rx {
    }

    /**
     * min..max items with a separator between them ({@code item (sep item)*}); max -1 for no
     * limit. Compiled with a single copy of the item when unbounded, which keeps nested lists linear.
     */
    record SepList(Rx item, Rx sep, int min, int max) implements Rx {
    }

    /**
     * A JSON object's members in their declared order, each present or (if optional) absent, with
     * {@code sep} between the present ones. Compiled linearly in the number of members.
     */
    record Members(List<Member> members, Rx sep) implements Rx {
        public Members {
            members = List.copyOf(members);
        }
    }

    /**
     * A reference to rule {@code rule} of a grammar ({@link Gbnf}): the text of that rule here.
     * Only a grammar's rules hold it, and only {@link PushdownAutomaton} follows it.
     */
    record Call(int rule) implements Rx {
    }

    /** A member of {@link Members}: its whole text ({@code "key": value}) and whether it must appear. */
    record Member(Rx text, boolean required) {
    }

    Rx EMPTY = new Seq(List.of());

    static Rx seq(Rx... parts) {
        return new Seq(List.of(parts));
    }

    static Rx alt(Rx... options) {
        return new Alt(List.of(options));
    }

    static Rx optional(Rx item) {
        return new Repeat(item, 0, 1);
    }

    /** The UTF-8 bytes of a text, literally. */
    static Rx literal(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        List<Rx> parts = new ArrayList<>(bytes.length);
        for (byte b : bytes) {
            parts.add(range(b & 0xFF, b & 0xFF));
        }
        return parts.size() == 1 ? parts.get(0) : new Seq(parts);
    }

    /** One byte in [lo, hi]. */
    static Bytes range(int lo, int hi) {
        long[] bits = new long[4];
        for (int b = lo; b <= hi; b++) {
            bits[b >>> 6] |= 1L << b;
        }
        return new Bytes(bits);
    }

    /** One byte out of the given characters (all ASCII). */
    static Bytes anyOf(String asciiChars) {
        long[] bits = new long[4];
        for (int i = 0; i < asciiChars.length(); i++) {
            int b = asciiChars.charAt(i);
            if (b > 0x7F) {
                throw new IllegalArgumentException("not ASCII: " + asciiChars);
            }
            bits[b >>> 6] |= 1L << b;
        }
        return new Bytes(bits);
    }
}
