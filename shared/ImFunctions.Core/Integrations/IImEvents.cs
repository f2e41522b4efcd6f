namespace ImFunctions.Core.Integrations;

/// <summary>
/// After-the-fact events for the operator's backend (webhooks: message.sent, message.revoked, message.edited,
/// group.*, friend.*). Features publish right after the change they announce is stored; delivery is the
/// integrations feature's business and never on the caller's path.
/// </summary>
public interface IImEvents
{
    /// <param name="type">e.g. <c>message.sent</c>, <c>group.member_joined</c>, <c>friend.accepted</c>.</param>
    /// <param name="id">Unique per event and the same when a retried request publishes it again, so it is stored and delivered once
    /// (e.g. <c>message.sent:&lt;message id&gt;</c>); receivers dedupe on it.</param>
    /// <param name="data">The event's payload, serialized with the API's JSON rules.</param>
    Task PublishAsync(string type, string id, object data, CancellationToken ct);
}

/// <summary>No events URL configured: nothing is recorded, nothing is sent.</summary>
public sealed class EventsOff : IImEvents
{
    public Task PublishAsync(string type, string id, object data, CancellationToken ct) => Task.CompletedTask;
}
