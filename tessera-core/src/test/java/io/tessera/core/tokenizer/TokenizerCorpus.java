package io.tessera.core.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Texts that exercise a tokenizer's edge cases: prose, CJK, code with tabs and runs of spaces and
 * newlines, numbers of every length, emoji and other 4-byte characters, unusual code points
 * (controls, replacement characters, lone combining marks, zero-width characters, every Unicode
 * space), contractions in several cases, and special-token strings inside text.
 */
public final class TokenizerCorpus {

    private TokenizerCorpus() {
    }

    /** The fixed texts plus generated ones; {@code specials} are strings to embed (added tokens). */
    public static List<String> texts(List<String> specials) {
        List<String> out = new ArrayList<>(List.of(
                "",
                " ",
                "Hello world",
                " Hello world",
                "Hello  world",
                "The quick brown fox jumps over the lazy dog. It's 5 o'clock; we'll see, they've gone, I'm sure, you'd know.",
                "IT'S LOUD. WE'LL SHOUT! THEY'VE GONE. I'M HERE. YOU'D KNOW. It'S mIxEd 'Re 'vE 'lL",
                "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.\n\n"
                        + "One day, she saw a big, red ball in the park.",
                "我们是中国人，我们热爱和平。今天天气很好，我们去公园散步吧！",
                "日本語のテキストです。カタカナとひらがな、そして漢字を含みます。東京は日本の首都です。",
                "한국어 텍스트도 포함합니다. 안녕하세요!",
                "Привет, мир! Это русский текст с цифрами 123 и знаками препинания.",
                "Ελληνικά: Καλημέρα κόσμε. العربية: مرحبا بالعالم. עברית: שלום עולם. हिन्दी: नमस्ते दुनिया",
                "def main():\n\tprint(\"hello\")\n\tif x  >=   10:\n\t\treturn [i**2 for i in range(x)]\n\n\n    # four spaces\n        return None\n",
                "public static void main(String[] args) {\r\n    System.out.println(\"x\" + 1);\r\n}\r\n",
                "a\n\nb\n\n\nc\r\n\r\nd \n e  \n\n  f\t\t\tg   \t  h",
                "   leading spaces and trailing   ",
                "\n\nleading newlines",
                "tabs\tbetween\twords\t\t\tand at end\t",
                "0 1 12 123 1234 12345 123456 1234567 12345678 123456789 1234567890 12345678901234567890",
                "3.14159 2,718 -42 +7 1e10 0x1F 1_000_000 $100.00 50% 2024-01-31 12:34:56",
                "١٢٣٤٥ ۱۲۳ ०१२३ ① ½ Ⅻ ¹²³ 𝟘𝟙𝟚",
                "Emoji: 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ 🤖 and 4-byte: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀀𠀁 𓀀",
                "Odd: \u0000 \u0001 \u007F \u0080 \u009F \uFFFD\uFFFD \uFEFF bom \u200B zw \u200D zwj \u00AD shy \uFFFF",
                "Combining: e\u0301 a\u0308 \u0301alone n\u0303o \u00E9 Å Å ﬁ ﬀ ℌ ｆｕｌｌｗｉｄｔｈ",
                "Spaces:\u00A0nbsp\u2000en\u2003em\u2009thin\u3000ideographic\u202Fnarrow\u205Fmath\u1680ogham\u0085nel\u2028ls\u2029ps\u000Bvt\u000Cff",
                "Punctuation!!! ??? ... --- ___ *** ((( ))) [[[ ]]] {{{ }}} <<< >>> /// \\\\\\ ||| ~~~ ``` '''",
                "URL: https://example.com/path?query=1&b=2#frag and email: someone@example.org",
                "Mixed日本語English中文123emoji😀end",
                "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'VE 'M 'LL 'D ſ 'ſ 'K",
                "don't won't can't shouldn't y'all o'clock rock'n'roll",
                "ÀÉÎÕÜ àéîõü ÇçÑñ ßẞ Ÿÿ Œœ Ææ Øø",
                "x".repeat(300),
                "ab".repeat(200) + " " + "的".repeat(150)));
        StringBuilder digits = new StringBuilder();
        for (int len = 1; len <= 25; len++) {
            digits.append("9876543210".repeat(3), 0, len).append(len % 3 == 0 ? "\n" : " ");
        }
        out.add(digits.toString());
        for (String s : specials) {
            out.add(s);
            out.add("before" + s + "after");
            out.add("text " + s + " text " + s + s + "\n" + s);
            out.add("<" + s + ">" + s.toUpperCase() + " " + s.substring(0, s.length() - 1));
        }
        Random random = new Random(26);
        String alphabet = "abcXYZ 019\n\t.,!'é日本😀ß\u0301-_#";
        int[] cps = alphabet.codePoints().toArray();
        for (int i = 0; i < 40; i++) {
            StringBuilder b = new StringBuilder();
            int len = 1 + random.nextInt(60);
            for (int k = 0; k < len; k++) b.appendCodePoint(cps[random.nextInt(cps.length)]);
            if (!specials.isEmpty() && i % 4 == 0) b.insert(random.nextInt(b.length() + 1), specials.get(i % specials.size()));
            out.add(b.toString());
        }
        return out;
    }
}
