using Microsoft.AspNetCore.Http.Features;

namespace ImFunctions.Api.Hosting;

public static class EmptyParams
{
    /// <summary>
    /// uniCloud clients send no body for methods without params; uni-im reads that as <c>{}</c>. Only for uni-im
    /// methods: the local hub's REST API beside them must see an empty body as empty.
    /// </summary>
    public static Task ReadAsAnObject(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var noBody = request.ContentLength == 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count == 0);
        if (noBody && HttpMethods.IsPost(request.Method) && context.GetEndpoint()?.Metadata.GetMetadata<UniImMethod>() is not null)
        {
            request.Body = new MemoryStream("{}"u8.ToArray());
            request.ContentLength = 2;
            request.ContentType = "application/json";
            context.Features.Set<IHttpRequestBodyDetectionFeature>(HasBody.Instance);
        }
        return next(context);
    }

    /// <summary>Tells body binding that the replaced body is there to read.</summary>
    sealed class HasBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly HasBody Instance = new();
        public bool CanHaveBody => true;
    }
}
