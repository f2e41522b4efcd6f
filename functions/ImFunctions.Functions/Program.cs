using ImFunctions.Api;
using ImFunctions.Api.Hosting;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using ImFunctions.Core.Storage;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

var config = builder.Configuration;
if ((config["Push:Provider"] ?? "webpubsub") != "webpubsub")
    throw new InvalidOperationException("The Functions app pushes through Azure Web PubSub: set Push__Provider=webpubsub and WebPubSub__ConnectionString.");
config["Push:Provider"] = "webpubsub";
builder.Services.AddImFunctions(config, dataDirectory: config["DataDirectory"] ?? "data");
// The worker's own invocation spans and resource (faas.*), ours under them.
builder.Services.AddImObservability(config).UseFunctionsWorkerDefaults();

var host = builder.Build();
await host.Services.GetRequiredService<IImStore>().InitializeAsync(CancellationToken.None);
await host.RunAsync();
