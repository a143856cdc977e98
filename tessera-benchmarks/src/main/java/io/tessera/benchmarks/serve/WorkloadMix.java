package io.tessera.benchmarks.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * A workload of several request classes, each a fraction of the requests with its own prompt and
 * output lengths, e.g. 20% long prompts with short outputs and 80% short prompts with long outputs.
 *
 * <p>Syntax ({@code --mix}): comma-separated entries {@code FRACTION:INPUT/OUTPUT}, where INPUT and
 * OUTPUT are a token count {@code N} or an inclusive range {@code LO-HI} drawn uniformly, e.g.
 * {@code 0.2:1024-2048/16,0.8:64-128/256}. Fractions are in (0, 1] and add up to 1 (within 0.001,
 * so thirds may be written 0.333); at most {@value #MAX_ENTRIES} entries, lengths 1 to
 * {@value #MAX_LEN} tokens.
 */
public record WorkloadMix(List<Entry> entries) {

    public static final int MAX_ENTRIES = 32;
    public static final int MAX_LEN = 1_000_000;
    private static final int MAX_TEXT = 4096;

    /** One request class: its share and its length ranges (inclusive). */
    public record Entry(double fraction, int inputMin, int inputMax, int outputMin, int outputMax) {

        /** The entry as {@code --mix} writes it. */
        public String spec() {
            return String.format(Locale.ROOT, "%s:%s/%s", fraction, range(inputMin, inputMax),
                    range(outputMin, outputMax));
        }

        private static String range(int lo, int hi) {
            return lo == hi ? Integer.toString(lo) : lo + "-" + hi;
        }
    }

    public WorkloadMix {
        entries = List.copyOf(entries);
    }

    /**
     * One class of {@code inputLen} and {@code outputLen} tokens, each uniform in
     * [len·(1-R), len·(1+R)] for a range ratio R ({@code --range-ratio}; 0 is fixed).
     */
    public static WorkloadMix single(int inputLen, int outputLen, double rangeRatio) {
        if (inputLen < 1 || outputLen < 1) {
            throw new IllegalArgumentException("--input-len and --output-len must be at least 1");
        }
        if (!(rangeRatio >= 0 && rangeRatio <= 1)) {
            throw new IllegalArgumentException("--range-ratio must be in [0, 1], got " + rangeRatio);
        }
        int inLo = Math.max(1, (int) Math.floor(inputLen * (1 - rangeRatio)));
        int outLo = Math.max(1, (int) Math.floor(outputLen * (1 - rangeRatio)));
        return new WorkloadMix(List.of(new Entry(1, inLo, Math.max(inLo, (int) Math.ceil(inputLen * (1 + rangeRatio))),
                outLo, Math.max(outLo, (int) Math.ceil(outputLen * (1 + rangeRatio))))));
    }

    /** Parses {@code --mix}; bad input is refused naming the entry and what is wrong with it. */
    public static WorkloadMix parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("--mix is empty; give entries like 0.2:1024-2048/16,0.8:64-128/256");
        }
        if (spec.length() > MAX_TEXT) {
            throw new IllegalArgumentException("--mix is longer than " + MAX_TEXT + " characters");
        }
        String[] parts = spec.split(",", -1);
        if (parts.length > MAX_ENTRIES) {
            throw new IllegalArgumentException("--mix has " + parts.length + " entries; at most " + MAX_ENTRIES);
        }
        List<Entry> entries = new ArrayList<>();
        double sum = 0;
        for (int i = 0; i < parts.length; i++) {
            String e = parts[i].strip();
            String where = "--mix entry " + (i + 1) + " '" + e + "': ";
            int colon = e.indexOf(':');
            int slash = e.indexOf('/', Math.max(colon, 0));
            if (colon < 0 || slash < 0) {
                throw new IllegalArgumentException(where + "expected FRACTION:INPUT/OUTPUT, e.g. 0.2:1024-2048/16");
            }
            double fraction = fraction(e.substring(0, colon).strip(), where);
            int[] in = range(e.substring(colon + 1, slash).strip(), where, "input length");
            int[] out = range(e.substring(slash + 1).strip(), where, "output length");
            entries.add(new Entry(fraction, in[0], in[1], out[0], out[1]));
            sum += fraction;
        }
        if (Math.abs(sum - 1) > 1e-3) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "--mix: the fractions add up to %.4f; they must add up to 1", sum));
        }
        return new WorkloadMix(entries);
    }

    private static double fraction(String s, String where) {
        double f;
        try {
            f = Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + "the fraction '" + s + "' is not a number");
        }
        if (!(f > 0 && f <= 1)) {
            throw new IllegalArgumentException(where + "the fraction must be in (0, 1], got " + s);
        }
        return f;
    }

    private static int[] range(String s, String where, String what) {
        int dash = s.indexOf('-', 1);
        int lo = length(dash < 0 ? s : s.substring(0, dash).strip(), where, what);
        int hi = dash < 0 ? lo : length(s.substring(dash + 1).strip(), where, what);
        if (hi < lo) {
            throw new IllegalArgumentException(where + "the " + what + " range " + s + " runs backwards");
        }
        return new int[] {lo, hi};
    }

    private static int length(String s, String where, String what) {
        if (!s.matches("[0-9]{1,9}")) {
            throw new IllegalArgumentException(where + "the " + what + " '" + s + "' is not a whole number of tokens");
        }
        int n = Integer.parseInt(s);
        if (n < 1 || n > MAX_LEN) {
            throw new IllegalArgumentException(where + "the " + what + " must be 1 to " + MAX_LEN + " tokens, got " + n);
        }
        return n;
    }

    /** Index of the class of the next request: entry i with probability fraction(i) / sum. */
    public int pick(Random rnd) {
        double total = 0;
        for (Entry e : entries) {
            total += e.fraction();
        }
        double u = rnd.nextDouble() * total;
        for (int i = 0; i < entries.size() - 1; i++) {
            u -= entries.get(i).fraction();
            if (u < 0) {
                return i;
            }
        }
        return entries.size() - 1;
    }

    /** The longest prompt plus output any class can draw. */
    public int longestRequest() {
        int max = 0;
        for (Entry e : entries) {
            max = Math.max(max, e.inputMax() + e.outputMax());
        }
        return max;
    }

    /** The mix as {@code --mix} writes it. */
    public String spec() {
        StringBuilder sb = new StringBuilder();
        for (Entry e : entries) {
            sb.append(sb.isEmpty() ? "" : ",").append(e.spec());
        }
        return sb.toString();
    }

    /** A uniform draw in [lo, hi]. */
    static int draw(Random rnd, int lo, int hi) {
        return lo + rnd.nextInt(hi - lo + 1);
    }
}
