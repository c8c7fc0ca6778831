from django.http import HttpResponse


def home(request):
    return HttpResponse("")


def import_page(request):
    return HttpResponse("")
