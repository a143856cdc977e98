package io.tessera.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.core.tokenizer.Tokenizers;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tessera tokenize}: the token ids of a text, like llama.cpp's llama-tokenize. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the token ids of a text. Special-token strings in the text (such as <|im_start|>) "
                + "are matched as the tokenizer's added tokens, as Hugging Face does by default.")
final class TokenizeCommand implements Callable<Integer> {

    @Option(names = "--tokenizer", required = true, paramLabel = "PATH",
            description = "A GGUF file, a tokenizer.json (tokenizer_config.json beside it is read too), "
                    + "a model directory holding tokenizer.json, or a llama2.c tokenizer file.")
    Path tokenizer;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", paramLabel = "T", description = "The text to tokenize.")
        String text;

        @Option(names = "--file", paramLabel = "F", description = "A UTF-8 file whose content to tokenize.")
        Path file;
    }

    @Option(names = "--no-special", description = "Add no BOS/EOS or template tokens.")
    boolean noSpecial;

    @Option(names = "--json", description = "Print {\"ids\": [...]} instead of the ids separated by spaces.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Tokenizer tok = Tokenizers.open(tokenizer);
        String text;
        try {
            text = input.text != null ? input.text : Files.readString(input.file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(input.file + ": not valid UTF-8 text", e);
        }
        int[] ids = tok.encode(text, !noSpecial, true);
        if (json) {
            System.out.println(new ObjectMapper().writeValueAsString(Map.of("ids", ids)));
        } else {
            StringJoiner line = new StringJoiner(" ");
            for (int id : ids) line.add(Integer.toString(id));
            System.out.println(line);
        }
        return 0;
    }
}
