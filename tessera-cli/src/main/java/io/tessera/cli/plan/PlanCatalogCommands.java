package io.tessera.cli.plan;

import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.report.CatalogWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tessera plan gpus} and {@code tessera plan models}: the catalogs. */
public final class PlanCatalogCommands {

    private PlanCatalogCommands() {
    }

    @Command(name = "gpus", mixinStandardHelpOptions = true, description = "The accelerator catalog, with sources (--sources).")
    public static final class Gpus implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--catalog", description = "an accelerators.json to list instead of the built-in one")
        Path catalog;
        @Option(names = "--sources", description = "print where each number comes from")
        boolean sources;

        @Override
        public Integer call() throws Exception {
            CatalogWriter.accelerators(spec.commandLine().getOut(), AcceleratorCatalog.open(catalog), sources);
            return 0;
        }
    }

    @Command(name = "models", mixinStandardHelpOptions = true, description = "The model presets, with their sources.")
    public static final class Models implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            CatalogWriter.models(spec.commandLine().getOut());
            return 0;
        }
    }
}
