// Run: dotnet run --project samples/ImBot -- --Bot:ImUrl=http://127.0.0.1:7071 --Bot:KeyId=bot --Bot:Key=<S2S key> --Bot:WebhookSecret=<Webhooks__Secret>
// and point ImFunctions' Webhooks__EventsUrl at http://127.0.0.1:5088/events.
var app = ImBot.BotApp.Build(args, builder => builder.WebHost.UseUrls(builder.Configuration["urls"] ?? "http://127.0.0.1:5088"));
await app.RunAsync();
