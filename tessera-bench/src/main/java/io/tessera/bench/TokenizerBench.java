package io.tessera.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.core.tokenizer.Tokenizers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Encoding throughput of Tessera's tokenizer next to Hugging Face's Rust tokenizers (DJL bindings)
 * on the same text of a few MB, in one run, two ways: the whole text as one string, and the same
 * text as documents of about 4 KB encoded one after the other (the usual size of a prompt; Hugging
 * Face's cost per call grows faster than linearly with its length). Rounds alternate, the median
 * of each is reported with the ratio, and the ids are checked equal.
 *
 * <p>{@code java -cp tessera-bench/target/tessera-bench.jar io.tessera.bench.TokenizerBench
 * DIR_OR_TOKENIZER_JSON [MB] [ROUNDS]}
 */
public final class TokenizerBench {
    static {
        // DJL would otherwise probe cloud metadata addresses to report usage.
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.setProperty("offline", "true");
    }

    private TokenizerBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: TokenizerBench DIR_OR_TOKENIZER_JSON [MB=2] [ROUNDS=5]");
            System.exit(2);
        }
        Path path = Path.of(args[0]);
        double mb = args.length > 1 ? Double.parseDouble(args[1]) : 2;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        String text = text((long) (mb * 1024 * 1024), 26);
        long bytes = text.getBytes(StandardCharsets.UTF_8).length;

        Tokenizer tessera = Tokenizers.open(path);
        Path json = path.toFile().isDirectory() ? path.resolve("tokenizer.json") : path;
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(json,
                Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "false"))) {
            int[] ours = tessera.encode(text, false, true);
            long[] theirs = idsOnly(hf, text);
            int[] theirsInt = Arrays.stream(theirs).mapToInt(Math::toIntExact).toArray();
            boolean same = Arrays.equals(ours, theirsInt);
            List<String> docs = documents(text, 4096);
            for (String doc : docs) {
                long[] want = idsOnly(hf, doc);
                if (!Arrays.equals(tessera.encode(doc, false, true), Arrays.stream(want).mapToInt(Math::toIntExact).toArray())) {
                    same = false;
                }
            }
            System.out.printf("text: %,d bytes, %,d chars, %,d tokens, %,d documents; ids identical: %s%n", bytes,
                    text.length(), ours.length, docs.size(), same);
            compare("one string", bytes, rounds, () -> tessera.encode(text, false, true), () -> idsOnly(hf, text));
            compare("4 KB documents", bytes, rounds, () -> docs.forEach(d -> tessera.encode(d, false, true)),
                    () -> docs.forEach(d -> idsOnly(hf, d)));
            if (!same) System.exit(1);
        }
    }

    /**
     * Hugging Face's encode with nothing but the ids brought back: DJL's {@code encode} also copies
     * tokens, offsets and masks into Java objects, which is DJL's cost, not the tokenizer's.
     */
    private static long[] idsOnly(HuggingFaceTokenizer hf, String text) {
        long encoding = TokenizersLibrary.LIB.encode(hf.getHandle(), text, false);
        try {
            return TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    private static void compare(String what, long bytes, int rounds, Runnable tessera, Runnable hf) {
        // One warm-up round each, then alternate.
        tessera.run();
        hf.run();
        double[] t = new double[rounds];
        double[] h = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long s = System.nanoTime();
            tessera.run();
            t[r] = (System.nanoTime() - s) / 1e9;
            s = System.nanoTime();
            hf.run();
            h[r] = (System.nanoTime() - s) / 1e9;
        }
        double tm = median(t);
        double hm = median(h);
        System.out.printf("%s:%n", what);
        System.out.printf("  tessera:       %.3f s median, %.2f MB/s  (rounds %s)%n", tm, bytes / tm / 1e6, Arrays.toString(t));
        System.out.printf("  hf tokenizers: %.3f s median, %.2f MB/s  (rounds %s)%n", hm, bytes / hm / 1e6, Arrays.toString(h));
        System.out.printf("  throughput ratio tessera/hf: %.2f%n", hm / tm);
    }

    /** The text cut after the first line break past every {@code size} chars. */
    private static List<String> documents(String text, int size) {
        List<String> docs = new ArrayList<>();
        int start = 0;
        while (start < text.length()) {
            int end = Math.min(text.length(), start + size);
            int nl = text.indexOf('\n', end);
            end = nl < 0 ? text.length() : nl + 1;
            docs.add(text.substring(start, end));
            start = end;
        }
        return docs;
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    /**
     * A deterministic mix of what tokenizers meet: English-like prose of varied words, code with
     * tabs and runs of spaces, numbers of every length, Chinese, Japanese, emoji, contractions.
     */
    static String text(long targetBytes, long seed) {
        Random rnd = new Random(seed);
        String[] syllables = {"the", "an", "ing", "con", "pre", "tion", "al", "er", "ous", "ly", "qu", "ex", "str",
            "ight", "ph", "ment", "ble", "ity", "or", "un", "re", "de", "in", "ter", "com", "pro", "ab", "ul", "os"};
        String[] cjk = {"我们", "中国", "今天", "天气", "很好", "公园", "散步", "东京", "日本語", "テキスト", "ひらがな",
            "カタカナ", "漢字", "首都", "学习", "机器", "模型"};
        String[] emoji = {"😀", "👍🏽", "🇫🇷", "❤️", "🤖", "𝔘𝔫𝔦", "𠀀"};
        StringBuilder b = new StringBuilder();
        long bytes = 0;
        while (bytes < targetBytes) {
            int start = b.length();
            switch (rnd.nextInt(10)) {
                case 0, 1, 2, 3, 4 -> {
                    int words = 5 + rnd.nextInt(20);
                    for (int w = 0; w < words; w++) {
                        StringBuilder word = new StringBuilder();
                        int n = 1 + rnd.nextInt(4);
                        for (int k = 0; k < n; k++) word.append(syllables[rnd.nextInt(syllables.length)]);
                        if (w == 0 || rnd.nextInt(12) == 0) word.setCharAt(0, Character.toUpperCase(word.charAt(0)));
                        b.append(word);
                        if (rnd.nextInt(15) == 0) b.append(rnd.nextBoolean() ? "'s" : "'ll");
                        b.append(rnd.nextInt(8) == 0 ? ", " : " ");
                    }
                    b.append(". ");
                }
                case 5, 6 -> {
                    b.append("def f").append(rnd.nextInt(1000)).append("(x, y):\n");
                    b.append("\tif x  >=  ").append(rnd.nextInt(100000)).append(":\n\t\treturn [i ** 2 for i in range(y)]\n");
                    b.append("    ".repeat(1 + rnd.nextInt(3))).append("# note ").append(rnd.nextLong()).append("\n\n");
                }
                case 7 -> {
                    for (int k = 0; k < 8; k++) b.append(cjk[rnd.nextInt(cjk.length)]);
                    b.append(rnd.nextBoolean() ? "。" : "，");
                }
                case 8 -> {
                    for (int k = 0; k < 6; k++) {
                        int digits = 1 + rnd.nextInt(18);
                        for (int d = 0; d < digits; d++) b.append((char) ('0' + rnd.nextInt(10)));
                        b.append(' ');
                    }
                }
                default -> b.append(emoji[rnd.nextInt(emoji.length)]).append(' ');
            }
            bytes += b.substring(start).getBytes(StandardCharsets.UTF_8).length;
        }
        return b.toString();
    }
}
