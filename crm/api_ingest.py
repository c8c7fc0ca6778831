from rest_framework.views import APIView


class IngestView(APIView):
    pass


class MessageWebhookView(APIView):
    pass
