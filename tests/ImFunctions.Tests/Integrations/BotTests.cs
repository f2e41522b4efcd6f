using ImFunctions.Tests.Push;
using ImFunctions.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace ImFunctions.Tests.Integrations;

/// <summary>samples/ImBot for real: events from the outbox in, signed sendMsg out, answers on the user's socket.</summary>
public sealed class BotTests
{
    [Test]
    public async Task A_user_chats_with_the_sample_bot_over_the_socket_and_gets_its_answers()
    {
        var botPort = WebhookReceiver.FreePort();
        var settings = new Dictionary<string, string?>(S2SSigner.Settings)
        {
            ["Webhooks:Secret"] = WebhookReceiver.Secret,
            ["Webhooks:EventsUrl"] = $"http://127.0.0.1:{botPort}/events",
            ["Webhooks:EventsPollInterval"] = "00:00:00.2",
        };
        await using var app = await TestApp.StartAsync(settings);
        await using var bot = ImBot.BotApp.Build([
            "--Bot:ImUrl=" + app.BaseAddress, "--Bot:KeyId=" + S2SSigner.KeyId, "--Bot:Key=" + S2SSigner.Key,
            "--Bot:WebhookSecret=" + WebhookReceiver.Secret,
        ], builder =>
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{botPort}");
            builder.Logging.ClearProviders();
        });
        await bot.StartAsync();

        // The bot's account exists once the bot has spoken to ImFunctions; here the test creates it the same way.
        var botUid = (await app.SignedAsync("upsertUser", new { ext_uid = "bot:assistant", nickname = "Assistant" })).AssertOk()
            .Data.GetProperty("uid").GetString()!;
        var alice = await app.LoginAsync();
        var url = (await alice.PostAsync("negotiate")).AssertOk().Data.GetProperty("url").GetString()!;
        await using var socket = await HubSocket.ConnectAsync(new Uri(url), HubSocket.Json);

        (await alice.SendTextAsync(botUid, "/help")).AssertOk();
        Assert.That(await NextAnswerAsync(socket, botUid), Does.Contain("/time"));
        (await alice.SendTextAsync(botUid, "/time")).AssertOk();
        Assert.That(await NextAnswerAsync(socket, botUid), Does.StartWith("It is ").And.EndWith(" UTC."));
        (await alice.SendTextAsync(botUid, "你好, bot")).AssertOk();
        Assert.That(await NextAnswerAsync(socket, botUid), Is.EqualTo("You said: 你好, bot"));
    }

    /// <summary>The body of the next message the bot pushes to this socket (the user's own echoes are skipped).</summary>
    static async Task<string> NextAnswerAsync(HubSocket socket, string botUid)
    {
        while (true)
        {
            var frame = await socket.NextOfTypeAsync("message", TimeSpan.FromSeconds(30));
            var push = frame.GetProperty("data");
            if (push.GetProperty("event").GetString() != "msg") continue;
            var message = push.GetProperty("data");
            if (message.GetProperty("from_uid").GetString() == botUid) return message.GetProperty("body").GetString()!;
        }
    }
}
