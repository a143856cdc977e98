package io.tessera.core.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.TestModels;
import io.tessera.core.arch.Architectures;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.synth.SyntheticModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A checkpoint directory as a real one looks, at a tiny size: random weights of a small model
 * with a real vocabulary size (tied embeddings), and a real model's tokenizer.json and
 * tokenizer_config.json (chat template, special tokens).
 */
public final class RealisticCheckpoints {

    private static final ObjectMapper JSON = new ObjectMapper();

    private RealisticCheckpoints() {
    }

    public static Path write(Path dir, String family, int vocab, Path tokenizerFiles, int dim, int layers)
            throws IOException {
        ModelConfig cfg = Architectures.named(family).configure(new ModelConfig(family, dim, 2 * dim, layers, 2, 1,
                dim / 2, vocab, 256, 500000f, RopeStyle.INTERLEAVED, 1e-5f));
        HfCheckpointWriter.write(dir, cfg, true, SafetensorsDtype.BF16, SyntheticModel.weights(3));
        Files.copy(tokenizerFiles.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.copy(tokenizerFiles.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        return dir;
    }

    /**
     * A Llama-2-shaped checkpoint with the real Llama 2 SentencePiece model as tokenizer.model,
     * a tokenizer_config.json naming BOS/EOS and a chat template, and config.json's token ids, as
     * Llama 2 and Mistral repositories have them (no tokenizer.json: the GGUF vocabulary is the
     * SentencePiece model's).
     */
    public static Path llama2(Path dir, int dim, int layers) throws IOException {
        ModelConfig cfg = Architectures.named("llama").configure(new ModelConfig("llama", dim, 2 * dim, layers, 2, 2,
                dim / 2, 32000, 256, 10000f, RopeStyle.INTERLEAVED, 1e-5f));
        HfCheckpointWriter.write(dir, cfg, false, SafetensorsDtype.F16, SyntheticModel.weights(4));
        Files.copy(TestModels.file("tokenizer-llama2-32k.model"), dir.resolve("tokenizer.model"));
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": true,
                 "add_eos_token": false, "chat_template": "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"}
                """);
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        config.put("bos_token_id", 1).put("eos_token_id", 2);
        JSON.writeValue(dir.resolve("config.json").toFile(), config);
        return dir;
    }
}
