// pepr decides its mode when first imported: tests always run it in dev mode.
process.env.PEPR_MODE = "dev";
process.env.LOG_LEVEL ??= "warn";
