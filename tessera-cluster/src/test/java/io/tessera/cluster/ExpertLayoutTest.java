package io.tessera.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.cluster.transport.Wire;
import io.tessera.core.TestModels;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Expert-parallel layouts the model or the options cannot take are refused before any worker is
 * started, naming what is wrong; load files are checked field by field.
 */
class ExpertLayoutTest {

    @TempDir
    Path dir;

    private static ExecutorFactory.Layout layout(int tp, int ep, Path load) {
        return new ExecutorFactory.Layout(tp, 1, List.of(), null, 1, Wire.F32, 1, "160m", 0, ep, load, 1);
    }

    private static String refusal(Path model, ExecutorFactory.Layout layout) throws Exception {
        try (Model m = ModelLoader.load(model); Parallel par = new Parallel(1)) {
            return assertThrows(IllegalArgumentException.class, () -> ExecutorFactory.open(m, model, par,
                    KvCacheType.F32, 16, 1 << 20, layout)).getMessage();
        }
    }

    @Test
    void layoutsThatCannotRunAreRefused() throws Exception {
        String dense = refusal(TestModels.stories260K(), layout(1, 2, null));
        assertTrue(dense.contains("--ep 2 needs a model with experts"), dense);
        Path moe = ClusterTestSupport.tinyMoe(dir, "F32");
        String withTp = refusal(moe, layout(2, 2, null));
        assertTrue(withTp.contains("--ep with --tp is not supported"), withTp);
        String tooMany = refusal(moe, layout(1, 16, null));
        assertTrue(tooMany.contains("expert parallelism 16 needs at least as many experts"), tooMany);
        String loadWithoutEp = refusal(moe, layout(1, 1, dir.resolve("load.json")));
        assertTrue(loadWithoutEp.contains("--ep-load"), loadWithoutEp);
    }

    @Test
    void loadFilesAreCheckedAgainstTheModel() throws Exception {
        Path moe = ClusterTestSupport.tinyMoe(dir, "F32");
        Path file = dir.resolve("load.json");
        try (Model m = ModelLoader.load(moe)) {
            long[][] load = {{1, 2, 3, 4, 5, 6, 7, 8}, {8, 7, 6, 5, 4, 3, 2, 1}};
            ExpertLoadFile.write(file, load);
            long[][] back = ExpertLoadFile.read(file, m.config());
            assertArrayEquals(load[0], back[0]);
            assertArrayEquals(load[1], back[1]);
            String[][] bad = {
                {"{}", "no \"expert_load\" array"},
                {"{\"expert_load\": [[1,2,3,4,5,6,7,8]]}", "1 layers, the model has 2"},
                {"{\"expert_load\": [[1,2,3],[1,2,3,4,5,6,7,8]]}", "layer 0 is not an array of 8 counts"},
                {"{\"expert_load\": [[1,2,3,4,5,6,7,-8],[1,2,3,4,5,6,7,8]]}", "layer 0 expert 7 is not a count"},
                {"{\"expert_load\": [[1,2,3,4,5,6,7,\"x\"],[1,2,3,4,5,6,7,8]]}", "layer 0 expert 7 is not a count"},
            };
            for (String[] c : bad) {
                Files.writeString(file, c[0]);
                String msg = assertThrows(IllegalArgumentException.class,
                        () -> ExpertLoadFile.read(file, m.config())).getMessage();
                assertTrue(msg.contains(c[1]), c[0] + " → " + msg);
            }
        }
    }
}
