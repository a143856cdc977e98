package io.tessera.core.structured;

import java.util.ArrayList;
import java.util.List;

/**
 * Sets of Unicode scalar values as sorted, disjoint, non-adjacent ranges, and their UTF-8 form
 * as an {@link Rx}: each range is split into runs whose bytes each vary within one range (the
 * method of RE2's UTF-8 range compiler), surrogates excluded.
 */
final class CodePoints {
    static final int MAX = 0x10FFFF;

    private final List<int[]> ranges;

    private CodePoints(List<int[]> ranges) {
        this.ranges = ranges;
    }

    /** Normalises arbitrary ranges [lo, hi] into a set. */
    static CodePoints of(List<int[]> raw) {
        List<int[]> sorted = new ArrayList<>(raw);
        sorted.sort((a, b) -> Integer.compare(a[0], b[0]));
        List<int[]> out = new ArrayList<>();
        for (int[] r : sorted) {
            if (r[0] > r[1]) {
                continue;
            }
            if (!out.isEmpty() && r[0] <= out.get(out.size() - 1)[1] + 1) {
                int[] last = out.get(out.size() - 1);
                last[1] = Math.max(last[1], r[1]);
            } else {
                out.add(new int[] {r[0], r[1]});
            }
        }
        return new CodePoints(out);
    }

    static CodePoints range(int lo, int hi) {
        List<int[]> l = new ArrayList<>();
        l.add(new int[] {lo, hi});
        return of(l);
    }

    CodePoints complement() {
        List<int[]> out = new ArrayList<>();
        int next = 0;
        for (int[] r : ranges) {
            if (r[0] > next) {
                out.add(new int[] {next, r[0] - 1});
            }
            next = r[1] + 1;
        }
        if (next <= MAX) {
            out.add(new int[] {next, MAX});
        }
        return new CodePoints(out);
    }

    CodePoints union(CodePoints other) {
        List<int[]> all = new ArrayList<>();
        for (int[] r : ranges) all.add(r.clone());
        for (int[] r : other.ranges) all.add(r.clone());
        return of(all);
    }

    CodePoints minus(CodePoints other) {
        return complement().union(other).complement();
    }

    /** The one character of a one-character set, else -1. */
    int singleOrMinusOne() {
        return ranges.size() == 1 && ranges.get(0)[0] == ranges.get(0)[1] ? ranges.get(0)[0] : -1;
    }

    boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** The UTF-8 encodings of the set's characters, one character each. */
    Rx toRx() {
        List<Rx> options = new ArrayList<>();
        for (int[] r : ranges) {
            // surrogates are not characters and have no UTF-8 form
            if (r[0] < 0xD800) split(r[0], Math.min(r[1], 0xD7FF), options);
            if (r[1] > 0xDFFF) split(Math.max(r[0], 0xE000), r[1], options);
        }
        return options.size() == 1 ? options.get(0) : new Rx.Alt(options);
    }

    private static final int[] LENGTH_MAX = {0x7F, 0x7FF, 0xFFFF};

    private static void split(int lo, int hi, List<Rx> out) {
        if (lo > hi) {
            return;
        }
        for (int m : LENGTH_MAX) {
            if (lo <= m && hi > m) {
                split(lo, m, out);
                split(m + 1, hi, out);
                return;
            }
        }
        if (hi <= 0x7F) {
            out.add(Rx.range(lo, hi));
            return;
        }
        for (int i = 1; i < 4; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m)) {
                if ((lo & m) != 0) {
                    split(lo, lo | m, out);
                    split((lo | m) + 1, hi, out);
                    return;
                }
                if ((hi & m) != m) {
                    split(lo, (hi & ~m) - 1, out);
                    split(hi & ~m, hi, out);
                    return;
                }
            }
        }
        byte[] a = utf8(lo);
        byte[] b = utf8(hi);
        List<Rx> parts = new ArrayList<>();
        for (int i = 0; i < a.length; i++) {
            parts.add(Rx.range(a[i] & 0xFF, b[i] & 0xFF));
        }
        out.add(new Rx.Seq(parts));
    }

    private static byte[] utf8(int cp) {
        return new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
