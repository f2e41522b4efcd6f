using System.Reflection;
using ImFunctions.Core.Storage;

namespace ImFunctions.Tests.Support;

/// <summary>
/// A store that cancels the caller's token the moment one chosen write of it has succeeded: a client whose request is
/// aborted (its connection dropped) right after the write that commits the operation. Everything else passes through.
/// Any port can be wrapped, so one decorator serves sends, revokes, membership changes and invites alike.
/// </summary>
public class GivesUpAfter : DispatchProxy
{
    object inner = null!;
    string write = null!;
    Func<object?, bool> succeeded = null!;
    CancellationTokenSource giveUp = null!;

    /// <param name="write">The port method whose success commits the operation, e.g. <c>nameof(IImStore.TryAppendMessageAsync)</c>.</param>
    /// <param name="succeeded">Whether a result of it is a success; by default any result but null (a lost ETag race, say).
    /// A write that answers nothing succeeds when it does not throw.</param>
    public static T Write<T>(T inner, string write, CancellationTokenSource giveUp, Func<object?, bool>? succeeded = null) where T : class
    {
        var proxy = Create<T, GivesUpAfter>();
        var self = (GivesUpAfter)(object)proxy;
        (self.inner, self.write, self.giveUp, self.succeeded) = (inner, write, giveUp, succeeded ?? (result => result is not null));
        return proxy;
    }

    /// <summary>A sender whose request is aborted the moment their message is stored.</summary>
    public static IImStore Append(IImStore inner, CancellationTokenSource giveUp) =>
        Write(inner, nameof(IImStore.TryAppendMessageAsync), giveUp, result => result is AppendResult { Status: AppendStatus.Appended });

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        var result = method!.Invoke(inner, BindingFlags.DoNotWrapExceptions, null, args, null);
        if (method.Name != write) return result;
        if (!method.ReturnType.IsGenericType) return WatchAsync((Task)result!);
        return WatchMethod.MakeGenericMethod(method.ReturnType.GetGenericArguments()[0]).Invoke(this, [result]);
    }

    /// <summary>A write that answers nothing (a plain save) succeeded when it did not throw.</summary>
    async Task WatchAsync(Task written)
    {
        await written;
        await giveUp.CancelAsync();
    }

    static readonly MethodInfo WatchMethod = typeof(GivesUpAfter).GetMethods(BindingFlags.NonPublic | BindingFlags.Instance)
        .Single(m => m.Name == nameof(WatchAsync) && m.IsGenericMethodDefinition);

    async Task<TResult> WatchAsync<TResult>(Task<TResult> written)
    {
        var result = await written;
        if (succeeded(result)) await giveUp.CancelAsync();
        return result;
    }
}
