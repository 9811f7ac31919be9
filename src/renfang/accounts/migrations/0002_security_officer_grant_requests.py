# The security officer role and grants waiting for its approval (ADR 0020, issue 11).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ROLES = [
    ('district_admin', 'district administrator'),
    ('street_officer', 'street population officer'),
    ('committee_clerk', 'committee clerk'),
    ('collector', 'collector'),
    ('police', 'community police officer'),
    ('department_reader', 'department reader'),
    ('auditor', 'auditor'),
    ('security_officer', 'security officer'),
]


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_roles_police_areas_tokens'),
        ('areas', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='rolegrant',
            name='role',
            field=models.CharField(choices=ROLES, max_length=20, verbose_name='role'),
        ),
        migrations.CreateModel(
            name='GrantRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=ROLES, max_length=20, verbose_name='role')),
                ('fields', models.JSONField(blank=True, default=list, verbose_name='granted fields')),
                ('reasons', models.JSONField(blank=True, default=list, verbose_name='why it needs approval')),
                ('requested_at', models.DateTimeField(auto_now_add=True, verbose_name='requested at')),
                ('state', models.CharField(choices=[('pending', 'waiting for approval'), ('approved', 'approved'), ('refused', 'refused')], db_index=True, default='pending', max_length=10, verbose_name='state')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('note', models.CharField(blank=True, max_length=200, verbose_name='note')),
                ('area', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='grant_requests', to='areas.area', verbose_name='area')),
                ('police_area', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='grant_requests', to='accounts.policearea', verbose_name='police area')),
                ('replaces', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.rolegrant', verbose_name='replaces')),
                ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='requested by')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='grant_requests', to=settings.AUTH_USER_MODEL, verbose_name='user')),
            ],
            options={
                'verbose_name': 'grant request',
                'verbose_name_plural': 'grant requests',
                'ordering': ['-requested_at', '-id'],
            },
        ),
    ]
